"""Notices jobs run by the worker."""
