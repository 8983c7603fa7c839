"""Secrets read at run time from AWS Secrets Manager (R-AUTH-5), through Powertools' parameters utility.

The environment carries only each secret's id (settings.SECRET_ID_VARIABLES); the value is fetched when first
needed and cached for MAX_AGE_SECONDS, so a rotated secret takes effect within that time without a deployment.
A secret that is not configured, cannot be read or is empty raises SecretUnavailable: callers fail closed (an
HTTP function answers 503 to every request, the authorizer refuses) instead of running with an empty key.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from aws_lambda_powertools import Logger

from frontdesk.settings import get_settings

MAX_AGE_SECONDS = 300  # a rotated secret is in use everywhere within 5 minutes
logger = Logger(child=True)


class SecretUnavailable(Exception):
    """A secret this function needs is missing, unreadable or empty; the message names it, never its value."""


_lock = threading.Lock()
_providers: dict[str, Any] = {}
_previous: dict[str, tuple[str | None, float]] = {}  # name -> (value or None, monotonic expiry)


def _provider(stage: str) -> Any:
    """One provider (its own cache) per version stage: Powertools' cache key ignores VersionStage."""
    with _lock:
        if stage not in _providers:
            from aws_lambda_powertools.utilities.parameters import SecretsProvider

            from frontdesk.adapters.secret_store import secretsmanager_client

            _providers[stage] = SecretsProvider(boto3_client=secretsmanager_client())
        return _providers[stage]


def secret_id(name: str) -> str | None:
    return dict(get_settings().secret_ids).get(name)


def configured() -> list[str]:
    """Our names of the secrets this function is given (template.yaml sets an id variable for each)."""
    return [name for name, _ in get_settings().secret_ids]


def get(name: str) -> str:
    """The current value of the secret `name` (a key of settings.SECRET_ID_VARIABLES)."""
    identifier = secret_id(name)
    if not identifier:
        raise SecretUnavailable(f"secret {name!r}: no id configured")
    value = _fetch(name, identifier, "AWSCURRENT")
    if value is None:
        raise SecretUnavailable(f"secret {name!r}: not found")
    if not value.strip():
        raise SecretUnavailable(f"secret {name!r}: empty")
    return value


def previous(name: str) -> str | None:
    """The value before the last rotation (version stage AWSPREVIOUS), or None: verifiers accept it for one token
    lifetime after a rotation, so rotating the key logs nobody out."""
    identifier = secret_id(name)
    if not identifier:
        return None
    now = time.monotonic()
    with _lock:
        cached = _previous.get(name)
    if cached is not None and cached[1] > now:
        return cached[0]
    try:
        value: str | None = _fetch(name, identifier, "AWSPREVIOUS")
    except SecretUnavailable:
        value = None
    value = value if value and value.strip() else None
    with _lock:
        # Absence is cached too: a secret never rotated would otherwise cost a request every time.
        _previous[name] = (value, now + MAX_AGE_SECONDS)
    return value


def keys(name: str) -> list[str]:
    """The current value first, then the previous one if there is one (for verifying, never for signing)."""
    current = get(name)
    old = previous(name)
    return [current] if old is None or old == current else [current, old]


def check_all() -> None:
    """Every configured secret is readable and non-empty, or SecretUnavailable (logged once per refusal)."""
    for name in configured():
        get(name)


def clear_cache() -> None:
    with _lock:
        for provider in _providers.values():
            provider.clear_cache()
        _previous.clear()


def _fetch(name: str, identifier: str, stage: str) -> str | None:
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

    try:
        value = _provider(stage).get(identifier, max_age=MAX_AGE_SECONDS, VersionStage=stage)
    except GetParameterError as error:
        cause = error.__cause__ or error.__context__
        code = getattr(cause, "response", {}).get("Error", {}).get("Code") if cause is not None else None
        if code == "ResourceNotFoundException":
            return None
        raise SecretUnavailable(f"secret {name!r}: {code or type(cause or error).__name__}") from None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return str(value)
