"""The outside world behind small interfaces, each with an AWS and a local implementation."""
