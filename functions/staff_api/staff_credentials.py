"""Routes: PM/EHR integration client credentials, for the practice's admins (R-AUTH-4).

The token endpoint that exchanges a credential for a bearer is served by the integrations function.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import ConfigDict, Field

from frontdesk.adapters.clock import get_clock, iso
from frontdesk.http import Access, caller, error_responses, json_response, ok_response
from frontdesk.schemas import ApiModel

if TYPE_CHECKING:
    from frontdesk.domain.credentials import Credential

router = APIGatewayHttpRouter()
ADMIN = frozenset({"admin"})
ACCESS: Access = {
    "POST /integrations/credentials": ADMIN,
    "GET /integrations/credentials": ADMIN,
    "DELETE /integrations/credentials/{credential_id}": ADMIN,
}
CredentialId = Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9]{1,64}$")]
Limit = Annotated[int | None, Query(ge=1, le=200)]
NextToken = Annotated[str | None, Query(max_length=2000)]


class CredentialIn(ApiModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)


class CredentialOut(ApiModel):
    credential_id: str
    client_id: str
    name: str
    created_at: str
    revoked_at: str | None = None


class CreatedCredentialOut(ApiModel):
    credential_id: str
    client_id: str
    client_secret: str
    name: str
    created_at: str


class CredentialList(ApiModel):
    items: list[CredentialOut]
    next_token: str | None = None


def credential_out(credential: Credential) -> dict[str, Any]:
    out: dict[str, Any] = {
        "credential_id": credential.credential_id,
        "client_id": credential.client_id,
        "name": credential.name,
        "created_at": iso(credential.created_at),
    }
    if credential.revoked_at is not None:
        out["revoked_at"] = iso(credential.revoked_at)
    return out


@router.post(
    "/integrations/credentials",
    responses={
        **ok_response(CreatedCredentialOut, 201, "Created; the secret appears here only"),
        **error_responses(403),
    },
)
def create_credential(body: Annotated[CredentialIn, Body()]) -> Response[CreatedCredentialOut]:
    from frontdesk.services import credentials as service

    who = caller(router)
    created = service.create(who, body.name, get_clock().now())
    out = credential_out(created.credential)
    out["client_secret"] = created.client_secret
    return json_response(201, out)


@router.get("/integrations/credentials", responses={**ok_response(CredentialList), **error_responses(400, 403)})
def list_credentials(limit: Limit = None, next_token: NextToken = None) -> Response[Any]:
    """The practice's credentials, oldest first, `limit` at a time, revoked ones with `revoked_at`; never a secret.
    (Not `Response[CredentialList]`: the model would serialize an active one's absent `revoked_at` as null.)"""
    from frontdesk.services import credentials as service

    page = service.list_for(caller(router), limit, next_token)
    return json_response(200, {"items": [credential_out(c) for c in page.items], "next_token": page.next_token})


@router.delete(
    "/integrations/credentials/<credential_id>",
    responses={204: {"description": "Revoked (again: nothing changes)"}, **error_responses(403, 404)},
)
def revoke_credential(credential_id: CredentialId) -> Response[None]:
    """Revoked at once: no new token, and its tokens are refused from the next request (R-AUTH-4)."""
    from frontdesk.services import credentials as service

    who = caller(router)
    service.revoke(who, credential_id, get_clock().now())
    return Response(status_code=204, body="")
