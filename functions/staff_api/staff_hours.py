"""Routes: office hours (R-HOURS-1), overdue conversations (R-HOURS-3), routing coverage and simulation
(R-ROUTE-14, R-ROUTE-15)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import ConfigDict, Field, StrictInt, StrictStr
from staff_conversations import HolderOut, LabelsOut, Limit, NextToken, _holder  # the inboxes' shapes, one definition

from frontdesk.adapters.clock import iso
from frontdesk.auth import STAFF_ROLES
from frontdesk.http import Access, caller, error_responses, json_response, ok_response
from frontdesk.schemas import ApiModel
from frontdesk.store.page_tokens import PageScope, decode_token, encode_token
from frontdesk.store.pagination import clamp_limit

router = APIGatewayHttpRouter()
ADMIN = frozenset({"admin"})
ACCESS: Access = {
    "GET /office-hours": STAFF_ROLES,
    "PUT /office-hours": ADMIN,
    "GET /inboxes/overdue/conversations": STAFF_ROLES,
    "GET /routing/coverage": ADMIN,
    "POST /routing/simulate": ADMIN,
}
Interval = Annotated[list[Annotated[StrictStr, Field(max_length=5)]], Field(min_length=2, max_length=2)]
Day = Annotated[list[Interval], Field(max_length=12)]


class WeeklyIO(ApiModel):
    model_config = ConfigDict(extra="forbid")
    mon: Day = Field(default_factory=list)
    tue: Day = Field(default_factory=list)
    wed: Day = Field(default_factory=list)
    thu: Day = Field(default_factory=list)
    fri: Day = Field(default_factory=list)
    sat: Day = Field(default_factory=list)
    sun: Day = Field(default_factory=list)


class OfficeHoursIO(ApiModel):
    """R-HOURS-1. Intervals are HH:MM on one day ("24:00" may end one); an overnight shift is two intervals."""

    model_config = ConfigDict(extra="forbid")
    timezone: Annotated[StrictStr, Field(max_length=64)] = "America/New_York"
    weekly: WeeklyIO
    closures: Annotated[list[Annotated[StrictStr, Field(max_length=10)]], Field(max_length=366)] = Field(
        default_factory=list
    )
    after_hours_message: Annotated[StrictStr, Field(min_length=1, max_length=500)]
    response_target_minutes: Annotated[StrictInt, Field(ge=0, le=20160)] = 240


class OverdueOut(ApiModel):
    conversation_id: str
    patient_id: str
    status: str
    holder: HolderOut | None
    last_message_at: str
    labels: LabelsOut
    overdue_since: str


class OverduePageOut(ApiModel):
    items: list[OverdueOut]
    next_token: str | None = None


class UncoveredOut(ApiModel):
    """`{reason?, location?}`: a dimension that is off is absent (not null), so the fields are not declared here
    (a declared optional field is serialised as null)."""

    model_config = ConfigDict(extra="allow")


class CoverageOut(ApiModel):
    reasons_enabled: bool
    locations_enabled: bool
    uncovered: list[UncoveredOut]


class SimulateIn(ApiModel):
    model_config = ConfigDict(extra="forbid")
    reason: Annotated[StrictStr, Field(max_length=40)] | None = None
    location: Annotated[StrictStr, Field(max_length=64)] | None = None
    channel: Literal["app", "messenger", "sms", "voicemail"]


class RecipientOut(ApiModel):
    staff_id: str


class SimulationOut(ApiModel):
    model_config = ConfigDict(extra="allow")
    recipients: list[RecipientOut]
    holder: HolderOut
    routing: dict[str, Any]


@router.get("/office-hours", responses={**ok_response(OfficeHoursIO), **error_responses(403)})
def get_office_hours() -> Response[OfficeHoursIO]:
    from frontdesk.services import office_hours as service

    return json_response(200, service.get_hours(caller(router)).as_dict())


@router.put("/office-hours", responses={**ok_response(OfficeHoursIO), **error_responses(403)})
def put_office_hours(body: Annotated[OfficeHoursIO, Body()]) -> Response[OfficeHoursIO]:
    from frontdesk.services import office_hours as service

    return json_response(200, service.put_hours(caller(router), body.model_dump()).as_dict())


@router.get("/inboxes/overdue/conversations", responses={**ok_response(OverduePageOut), **error_responses(403)})
def overdue_inbox(limit: Limit = None, next_token: NextToken = None) -> Response[OverduePageOut]:
    from frontdesk.services import response_waits as service

    who = caller(router)
    # R-API-2: bound to the caller too, since what a non-admin sees here depends on who asks
    scope = PageScope(who.practice_id or "", "inbox#overdue", who.staff_id or who.sub)
    entries, next_key = service.list_overdue(who, clamp_limit(limit), decode_token(next_token, scope))
    items = []
    for entry in entries:
        conversation = entry.conversation
        items.append(
            {
                "conversation_id": conversation.conversation_id,
                "patient_id": conversation.patient_id,
                "status": conversation.status,
                "holder": _holder(conversation.holder_type, conversation.holder_id),
                "last_message_at": iso(conversation.last_message_at or conversation.created_at),
                "labels": {"reason": conversation.reason, "location": conversation.location},
                "overdue_since": iso(entry.overdue_since),
            }
        )
    return json_response(200, {"items": items, "next_token": encode_token(next_key, scope)})


@router.get("/routing/coverage", responses={**ok_response(CoverageOut), **error_responses(403)})
def routing_coverage() -> Response[CoverageOut]:
    from frontdesk.services import routing_insight as service

    found = service.coverage(caller(router))
    return json_response(
        200,
        {
            "reasons_enabled": found.reasons_enabled,
            "locations_enabled": found.locations_enabled,
            "uncovered": found.uncovered,
        },
    )


@router.post("/routing/simulate", responses={**ok_response(SimulationOut), **error_responses(403)})
def routing_simulate(body: Annotated[SimulateIn, Body()]) -> Response[SimulationOut]:
    from frontdesk.services import routing_insight as service

    return json_response(200, service.simulate(caller(router), body.reason, body.location, body.channel))
