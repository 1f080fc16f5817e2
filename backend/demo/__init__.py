"""Sample (demo) data for Lin County: `flask seed-demo`."""
