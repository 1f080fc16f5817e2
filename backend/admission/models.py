"""Admission tables."""
