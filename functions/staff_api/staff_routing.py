"""Routes: routing settings, reasons, locations, subscriptions, voicemail extensions."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import ConfigDict, Field

from frontdesk.auth import STAFF_ROLES
from frontdesk.domain.routing import Settings, Subscriptions
from frontdesk.http import Access, caller, error_responses, json_response, ok_response
from frontdesk.schemas import ApiModel, Flag

# Each route imports its service when called: a cold start loads the code of the route it serves, not of all the
# others (docs/performance.md).
router = APIGatewayHttpRouter()
ADMIN = frozenset({"admin"})
ACCESS: Access = {
    "GET /routing-settings": STAFF_ROLES,
    "PUT /routing-settings": ADMIN,
    "GET /routing/reasons": STAFF_ROLES,
    "POST /routing/locations/sync": ADMIN,
    "GET /routing/locations": STAFF_ROLES,
    "GET /staff/{staff_id}/subscriptions": STAFF_ROLES,
    "PUT /staff/{staff_id}/subscriptions": STAFF_ROLES,
    "PUT /voicemail-extensions/{extension}": ADMIN,
}
StaffId = Annotated[str, Path(max_length=64)]
Extension = Annotated[str, Path(max_length=20, pattern=r"^[0-9*#]{1,20}$")]
Item = Annotated[str, Field(min_length=1, max_length=64)]


class RoutingSettingsIO(ApiModel):
    model_config = ConfigDict(extra="forbid")
    reasons_enabled: Flag
    locations_enabled: Flag


class RoutingReasonOut(ApiModel):
    reason: str
    label: str
    subscribers: list[str]
    visible_to_patients: bool


class RoutingReasonsOut(ApiModel):
    items: list[RoutingReasonOut]


class SyncedLocationOut(ApiModel):
    location_id: str
    name: str


class SyncedLocationsOut(ApiModel):
    items: list[SyncedLocationOut]


class RoutingLocationOut(ApiModel):
    location_id: str
    name: str
    subscribers: list[str]


class RoutingLocationsOut(ApiModel):
    items: list[RoutingLocationOut]


class SubscriptionsIn(ApiModel):
    model_config = ConfigDict(extra="forbid")
    reasons: list[Item] = Field(default_factory=list, max_length=20)
    locations: list[Item] = Field(default_factory=list, max_length=500)
    inboxes: list[Item] = Field(default_factory=list, max_length=500)


class SubscriptionsOut(ApiModel):
    staff_id: str
    reasons: list[str]
    locations: list[str]
    inboxes: list[str]


class ExtensionIn(ApiModel):
    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(default=None, max_length=40)
    inbox_id: str | None = Field(default=None, max_length=64)


class ExtensionOut(ApiModel):
    extension: str
    reason: str | None
    inbox_id: str | None


def _settings(settings: Settings) -> dict[str, bool]:
    return {"reasons_enabled": settings.reasons_enabled, "locations_enabled": settings.locations_enabled}


def _subs(staff_id: str, subs: Subscriptions) -> dict[str, Any]:
    return {"staff_id": staff_id, **subs.as_dict()}


@router.get("/routing-settings", responses={**ok_response(RoutingSettingsIO), **error_responses(403)})
def get_settings() -> Response[RoutingSettingsIO]:
    from frontdesk.services import subscriptions as service

    return json_response(200, _settings(service.get_settings(caller(router))))


@router.put("/routing-settings", responses={**ok_response(RoutingSettingsIO), **error_responses(403, 409)})
def put_settings(body: Annotated[RoutingSettingsIO, Body()]) -> Response[RoutingSettingsIO]:
    from frontdesk.services import subscriptions as service

    who = caller(router)
    return json_response(200, _settings(service.put_settings(who, body.reasons_enabled, body.locations_enabled)))


@router.get("/routing/reasons", responses={**ok_response(RoutingReasonsOut), **error_responses(403)})
def reasons() -> Response[RoutingReasonsOut]:
    from frontdesk.services import subscriptions as service

    return json_response(200, {"items": service.reasons(caller(router))})


@router.post("/routing/locations/sync", responses={**ok_response(SyncedLocationsOut), **error_responses(403, 409)})
def sync_locations() -> Response[SyncedLocationsOut]:
    from frontdesk.services import subscriptions as service

    found = service.sync_locations(caller(router))
    return json_response(200, {"items": [{"location_id": loc.location_id, "name": loc.name} for loc in found]})


@router.get("/routing/locations", responses={**ok_response(RoutingLocationsOut), **error_responses(403)})
def locations() -> Response[RoutingLocationsOut]:
    from frontdesk.services import subscriptions as service

    found = service.locations(caller(router))
    return json_response(
        200,
        {"items": [{"location_id": loc.location_id, "name": loc.name, "subscribers": subs} for loc, subs in found]},
    )


@router.get("/staff/<staff_id>/subscriptions", responses={**ok_response(SubscriptionsOut), **error_responses(403, 404)})
def get_subscriptions(staff_id: StaffId) -> Response[SubscriptionsOut]:
    from frontdesk.services import subscriptions as service

    return json_response(200, _subs(staff_id, service.get_subscriptions(caller(router), staff_id)))


@router.put(
    "/staff/<staff_id>/subscriptions", responses={**ok_response(SubscriptionsOut), **error_responses(403, 404, 409)}
)
def put_subscriptions(staff_id: StaffId, body: Annotated[SubscriptionsIn, Body()]) -> Response[SubscriptionsOut]:
    from frontdesk.services import subscriptions as service

    who = caller(router)
    subs = service.put_subscriptions(who, staff_id, body.reasons, body.locations, body.inboxes)
    return json_response(200, _subs(staff_id, subs))


@router.put("/voicemail-extensions/<extension>", responses={**ok_response(ExtensionOut), **error_responses(403, 404)})
def put_extension(extension: Extension, body: Annotated[ExtensionIn, Body()]) -> Response[ExtensionOut]:
    from frontdesk.services import subscriptions as service

    who = caller(router)
    mapping = service.put_extension(who, extension, body.reason, body.inbox_id)
    return json_response(200, {"extension": mapping.extension, "reason": mapping.reason, "inbox_id": mapping.inbox_id})
