"""Reviews tables."""
