"""Admission jobs run by the worker."""
