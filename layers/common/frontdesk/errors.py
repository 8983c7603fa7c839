"""Domain errors carry the HTTP status and API.md error code; one mapping turns them into the envelope."""

from __future__ import annotations


class ApiError(Exception):
    """An error a client may see: status, snake_case code, a human message and optionally the field."""

    status: int = 400
    code: str = "validation_error"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code

    def envelope(self) -> dict[str, dict[str, str]]:
        error = {"code": self.code, "message": self.message}
        if self.field:
            error["field"] = self.field
        return {"error": error}


class ValidationFailed(ApiError):
    status, code = 400, "validation_error"


class Unauthenticated(ApiError):
    status, code = 401, "unauthenticated"


class Forbidden(ApiError):
    status, code = 403, "forbidden"


class NotFound(ApiError):
    status, code = 404, "not_found"


class Conflict(ApiError):
    """409: a business rule refuses the change; the code names the rule (e.g. support_required)."""

    status, code = 409, "conflict"


class Expired(ApiError):
    status, code = 410, "expired"


class TooLarge(ApiError):
    status, code = 413, "too_large"


class TooManyAttempts(ApiError):
    status, code = 429, "too_many_attempts"


class Unavailable(ApiError):
    """503: a dependency failed after retries; nothing was half-written."""

    status, code = 503, "service_unavailable"


class Stale(Exception):
    """A lost optimistic-lock race: what a write was conditioned on changed since it was read. Only the store raises
    it; services re-read and try again through `frontdesk.services.retry.retry_on_stale`. Never reaches a client."""
