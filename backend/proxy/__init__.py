"""代报名: a school registers a child at the counter for a family without a smartphone."""
