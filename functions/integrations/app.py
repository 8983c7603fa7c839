"""The PM/EHR feed: locations and appointments."""

from __future__ import annotations

import frontdesk.startup  # first: no garbage collection while the handler imports

# isort: split

from typing import Annotated, Any, Literal

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ConfigDict, Field

from frontdesk.adapters.clock import iso
from frontdesk.http import Access, caller, error_responses, json_response, make_resolver, ok_response, resolve
from frontdesk.schemas import ApiModel, OneLine, PmLocationId
from frontdesk.services import pm as service
from frontdesk.store.routing import Location

logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = make_resolver()
INTEGRATION = frozenset({"integration"})
ACCESS: Access = {
    "PUT /integrations/pm/locations": INTEGRATION,
    "PUT /integrations/pm/appointments/{appointment_id}": INTEGRATION,
}
Id = Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9._:-]{1,64}$")]


class PmLocationIn(ApiModel):
    model_config = ConfigDict(extra="forbid")
    location_id: PmLocationId
    name: OneLine = Field(min_length=1, max_length=200)


class PmLocationsIn(ApiModel):
    model_config = ConfigDict(extra="forbid")
    items: list[PmLocationIn] = Field(max_length=500)


class PmLocationsOut(ApiModel):
    items: list[PmLocationIn]


class AppointmentIn(ApiModel):
    model_config = ConfigDict(extra="forbid")
    patient_id: str | None = Field(default=None, max_length=64)
    external_id: OneLine | None = Field(default=None, max_length=64)
    location_id: PmLocationId
    starts_at: str = Field(min_length=10, max_length=40)
    status: Literal["booked", "cancelled"]


class AppointmentOut(ApiModel):
    appointment_id: str
    patient_id: str
    location_id: str
    starts_at: str
    status: str


@app.put("/integrations/pm/locations", responses={**ok_response(PmLocationsOut), **error_responses(403, 409)})
def put_locations(body: Annotated[PmLocationsIn, Body()]) -> Response[PmLocationsOut]:
    who = caller(app)
    saved = service.put_locations(who, [Location(i.location_id, i.name) for i in body.items])
    return json_response(200, {"items": [{"location_id": s.location_id, "name": s.name} for s in saved]})


@app.put(
    "/integrations/pm/appointments/<appointment_id>",
    responses={**ok_response(AppointmentOut), **error_responses(403, 404, 409)},
)
def put_appointment(appointment_id: Id, body: Annotated[AppointmentIn, Body()]) -> Response[AppointmentOut]:
    who = caller(app)
    saved = service.put_appointment(
        who, appointment_id, body.patient_id, body.external_id, body.location_id, body.starts_at, body.status
    )
    return json_response(
        200,
        {
            "appointment_id": saved.appointment_id,
            "patient_id": saved.patient_id,
            "location_id": saved.location_id,
            "starts_at": iso(saved.starts_at),
            "status": saved.status,
        },
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return resolve(app, ACCESS, event, context)


frontdesk.startup.done()
