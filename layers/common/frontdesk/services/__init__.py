"""Use cases: orchestrate the store and adapters; know nothing of HTTP or events."""
