"""Announcements jobs run by the worker."""
