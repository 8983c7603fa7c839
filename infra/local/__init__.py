"""The local runner: the same handlers and authorizer AWS runs, fed HTTP, S3, EventBridge and schedule events."""
