"""mcda."""
