"""Deployment helpers, template checks and the local runner (never deployed)."""
