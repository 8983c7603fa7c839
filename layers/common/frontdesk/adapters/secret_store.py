"""Secrets Manager client adapter (AWS, or the local runner's moto server through the settings' endpoint)."""

from __future__ import annotations

from typing import Any


def secretsmanager_client() -> Any:
    """A Secrets Manager client for the configured region and endpoint; boto3 is imported only when first needed."""
    import boto3

    from frontdesk.settings import get_settings

    settings = get_settings()
    return boto3.client("secretsmanager", region_name=settings.region, endpoint_url=settings.secrets_endpoint)
