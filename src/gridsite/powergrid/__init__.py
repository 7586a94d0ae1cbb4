"""powergrid."""
