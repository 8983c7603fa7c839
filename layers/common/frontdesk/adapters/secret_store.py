"""Secrets Manager client adapter (AWS, or the local runner's moto server through the settings' endpoint)."""

from __future__ import annotations

import threading
from typing import Any

_lock = threading.Lock()
_client: Any = None


def secretsmanager_client() -> Any:
    """The container's Secrets Manager client (created on first use, on the shared botocore session: adapters.aws)
    for the configured region and endpoint."""
    global _client
    with _lock:
        if _client is None:
            from frontdesk.adapters import aws
            from frontdesk.settings import get_settings

            settings = get_settings()
            _client = aws.client("secretsmanager", region_name=settings.region, endpoint_url=settings.secrets_endpoint)
        return _client
