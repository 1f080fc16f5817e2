"""Complaints tables."""
