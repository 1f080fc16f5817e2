"""Stats tables."""
