"""HTTP: Segment-compatible ingestion, the admin API, tracking endpoints."""
