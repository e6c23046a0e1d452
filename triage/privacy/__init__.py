"""Privacy owns what must not stay: erasure, the suppression list, retention, and their durable jobs."""
