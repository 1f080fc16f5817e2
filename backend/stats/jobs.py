"""Stats jobs run by the worker."""
