"""The background worker: a Redis-stream consumer group that runs queued jobs."""
