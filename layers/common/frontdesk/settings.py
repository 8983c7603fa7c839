"""The one place configuration is read from the environment (STYLE 5)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

# Our name of each run-time secret -> the environment variable that holds its Secrets Manager id (template.yaml
# sets it to the secret's ARN; the runner to its local name). A new secret is one line here.
SECRET_ID_VARIABLES = {
    "jwt": "JWT_SECRET_ID",  # HS256 key of patient and integration tokens
    "webhook": "WEBHOOK_SECRET_ID",  # HMAC key of provider webhooks
    "page_token": "PAGE_TOKEN_SECRET_ID",  # AES-GCM key of next_token (R-API-2, frontdesk.store.page_tokens)
}


@dataclass(frozen=True)
class Settings:
    table_name: str
    region: str
    environment: str  # "aws" or "local": picks the adapter implementations
    dynamodb_endpoint: str | None
    s3_endpoint: str | None
    imports_bucket: str
    event_bus_name: str
    # Secrets Manager ids (ARN or name) of the secrets this function may read, by our name (frontdesk.secrets):
    # the values are read at run time, never from the environment (R-AUTH-5).
    secret_ids: tuple[tuple[str, str], ...]
    token_ttl_seconds: int
    import_chunk_queue_url: str = ""
    secrets_endpoint: str | None = None  # locally moto's server; None in AWS
    import_chunk_bytes: int = 16 * 1024 * 1024  # a larger CSV fans out in chunks of about this size
    # Staff sign-in (R-AUTH-1): the stack's Cognito user pool. Ids, not secrets.
    user_pool_id: str = ""
    user_pool_client_id: str = ""
    cognito_endpoint: str | None = None  # locally moto's server; None in AWS
    cognito_issuer: str = ""  # the ID tokens' `iss` (locally moto still writes the AWS URL: PITFALLS)
    cognito_jwks_url: str = ""  # where the pool's public keys are fetched (locally moto's server)

    @property
    def is_local(self) -> bool:
        return self.environment == "local"


def _read(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name, default)
    return value if value else default


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings(
        table_name=_read("TABLE_NAME", "frontdesk") or "frontdesk",
        region=_read("AWS_REGION", _read("AWS_DEFAULT_REGION", "us-east-1")) or "us-east-1",
        environment=_read("FRONTDESK_ENV", "aws") or "aws",
        dynamodb_endpoint=_read("DYNAMODB_ENDPOINT"),
        s3_endpoint=_read("S3_ENDPOINT"),
        imports_bucket=_read("IMPORTS_BUCKET", "frontdesk-imports") or "frontdesk-imports",
        event_bus_name=_read("EVENT_BUS_NAME", "frontdesk") or "frontdesk",
        secret_ids=tuple((name, value) for name, env in SECRET_ID_VARIABLES.items() if (value := _read(env))),
        secrets_endpoint=_read("SECRETS_ENDPOINT"),
        token_ttl_seconds=int(_read("TOKEN_TTL_SECONDS", "3600") or "3600"),
        import_chunk_queue_url=_read("IMPORT_CHUNK_QUEUE_URL", "") or "",
        user_pool_id=_read("USER_POOL_ID", "") or "",
        user_pool_client_id=_read("USER_POOL_CLIENT_ID", "") or "",
        cognito_endpoint=_read("COGNITO_ENDPOINT"),
        cognito_issuer=_read("COGNITO_ISSUER", "") or "",
        cognito_jwks_url=_read("COGNITO_JWKS_URL", "") or "",
        import_chunk_bytes=int(_read("IMPORT_CHUNK_BYTES", str(16 * 1024 * 1024)) or 16 * 1024 * 1024),
    )
