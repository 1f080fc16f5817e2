"""Classes tables."""
