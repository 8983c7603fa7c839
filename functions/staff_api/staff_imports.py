"""Routes: CSV import jobs and probable duplicates (R-IMPORT-3, R-IMPORT-4, R-CREATE-4)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from frontdesk.adapters.clock import iso
from frontdesk.auth import STAFF_ROLES
from frontdesk.http import Access, caller, error_responses, json_response, ok_response
from frontdesk.schemas import ApiModel
from frontdesk.store.page_tokens import PageScope, decode_token, encode_token
from frontdesk.store.pagination import clamp_limit

if TYPE_CHECKING:  # the store loads with the service, in the route that needs it (docs/performance.md)
    from frontdesk.domain.import_jobs import ImportJob, RowError

# Each route imports its service when called: a cold start loads the code of the route it serves, not of all the
# others (docs/performance.md).
router = APIGatewayHttpRouter()
ACCESS: Access = {
    "GET /imports": STAFF_ROLES,
    "GET /imports/{import_id}": STAFF_ROLES,
    "GET /patients/duplicates": STAFF_ROLES,
}
ImportId = Annotated[str, Path(max_length=64)]
Limit = Annotated[int | None, Query(ge=1, le=200)]
NextToken = Annotated[str | None, Query(max_length=2048)]


class RowErrorOut(ApiModel):
    row: int
    field: str
    code: str
    message: str


class ImportOut(ApiModel):
    import_id: str
    status: Literal["running", "completed", "failed"]
    source_key: str
    rows_read: int
    created: int
    updated: int
    rejected: int
    warnings: int
    duplicates: int
    errors: list[RowErrorOut]
    report_key: str | None
    error: str | None = None
    created_at: str
    finished_at: str | None


class ImportList(ApiModel):
    items: list[ImportOut]
    next_token: str | None = None


class DuplicateOut(ApiModel):
    patient_ids: list[str]
    reason: Literal["same_name_and_dob", "same_cell_phone"]


class DuplicateList(ApiModel):
    items: list[DuplicateOut]
    next_token: str | None = None


def import_out(job: ImportJob, errors: list[RowError]) -> dict[str, Any]:
    return {
        "import_id": job.import_id,
        "status": job.status,
        "source_key": job.source_key,
        **job.counts.as_dict(),
        "errors": [{"row": e.row, "field": e.field, "code": e.code, "message": e.message} for e in errors],
        "report_key": job.report_key,
        "error": job.error,
        "created_at": iso(job.created_at),
        "finished_at": iso(job.finished_at) if job.finished_at else None,
    }


@router.get("/imports", responses={**ok_response(ImportList), **error_responses(403)})
def list_imports(limit: Limit = None, next_token: NextToken = None) -> Response[ImportList]:
    """Newest first; each item's `errors` is empty here: GET /imports/{import_id} lists them."""
    from frontdesk.services.imports import reads as service

    who = caller(router)
    assert who.practice_id is not None
    scope = PageScope(who.practice_id, "imports")
    found, last = service.list_imports(who.practice_id, clamp_limit(limit), decode_token(next_token, scope))
    items = [import_out(job, []) for job in found]
    return json_response(200, {"items": items, "next_token": encode_token(last, scope)})


@router.get("/imports/<import_id>", responses={**ok_response(ImportOut), **error_responses(403, 404)})
def get_import(import_id: ImportId) -> Response[ImportOut]:
    """Status and counts (progress while running); the first 200 row issues (all are in the report)."""
    from frontdesk.services.imports import reads as service

    who = caller(router)
    assert who.practice_id is not None
    job, errors = service.get_import(who.practice_id, import_id)
    return json_response(200, import_out(job, errors))


@router.get("/patients/duplicates", responses={**ok_response(DuplicateList), **error_responses(403)})
def list_duplicates(limit: Limit = None, next_token: NextToken = None) -> Response[DuplicateList]:
    from frontdesk.services.imports import reads as service

    who = caller(router)
    assert who.practice_id is not None
    scope = PageScope(who.practice_id, "duplicates")
    pairs, last = service.list_duplicates(who.practice_id, clamp_limit(limit), decode_token(next_token, scope))
    items = [{"patient_ids": pair.patient_ids, "reason": pair.reason} for pair in pairs]
    return json_response(200, {"items": items, "next_token": encode_token(last, scope)})
