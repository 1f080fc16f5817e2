"""The staff web console (served under /console)."""
