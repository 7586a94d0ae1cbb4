"""gridsite: rank sites for AI data centres."""
