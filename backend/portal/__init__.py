"""The public PC entry page (`GET /`), the QR links behind posters, and the posters."""
