"""Onsite tables."""
