"""Announcements tables."""
