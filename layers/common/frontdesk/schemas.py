"""Response models shared by several functions (the OpenAPI document is generated from them)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, StrictBool, StringConstraints
from pydantic_core import PydanticCustomError

from frontdesk.adapters.clock import iso
from frontdesk.domain.patients import Patient


class ApiModel(BaseModel):
    """The base of every request and response model. Deferred: a model's validator is built the first time a route
    uses it, not when its module is imported, so a cold start builds only the models of the route it serves (the
    OpenAPI document is the same: `make openapi` builds them all)."""

    model_config = ConfigDict(defer_build=True)


# R-API-1: request fields are exactly what the client meant (the OpenAPI document states each constraint).
# No control character (C0, DEL, C1: NUL and the like) in a name or other one-line text.
NO_CONTROL_PATTERN = r"^[^\x00-\x1F\x7F-\x9F]*$"
# A message body may hold newlines (LF, and the CR of CRLF) and tabs, no other control character.
BODY_PATTERN = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*$"
# A recording is fetched by staff browsers: https only (no javascript:, data:, http:), a host, no spaces.
HTTPS_URL_PATTERN = r"^https://[A-Za-z0-9.-]+(:[0-9]{1,5})?([/?#][^\x00-\x20\x7F-\x9F]*)?$"
PM_LOCATION_PATTERN = r"^[A-Za-z0-9._:-]{1,64}$"

OneLine = Annotated[str, StringConstraints(pattern=NO_CONTROL_PATTERN)]
"""A name or one-line text: refused if it has any control character."""
BodyText = Annotated[str, StringConstraints(pattern=BODY_PATTERN)]
"""A message body or transcript: newline and tab allowed, no other control character."""
_BODY_CONTROLS = re.compile(r"[\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]")  # what BODY_PATTERN refuses


def strip_body_controls(text: str) -> str:
    """The text without the control characters a BodyText refuses (LF, CR and tab stay). For bodies that arrive
    where refusing is no answer: an SNS notification refused would only be retried, then dead-lettered (R-SMS-1)."""
    return _BODY_CONTROLS.sub("", text)


StrippedBodyText = Annotated[str, AfterValidator(strip_body_controls)]
"""A message body from a provider that cannot be told 400: control characters are removed, as BodyText refuses them."""
HttpsUrl = Annotated[str, StringConstraints(max_length=2000, pattern=HTTPS_URL_PATTERN)]
Flag = StrictBool
"""A boolean is JSON `true` or `false`; never `"yes"`, `"true"`, `1` (pydantic's lax mode would take them)."""


def _not_reserved_location(value: str) -> str:
    from frontdesk.domain.reasons import UNKNOWN_LOCATION

    if value.casefold() == UNKNOWN_LOCATION:
        raise PydanticCustomError("reserved", "reserved")
    return value


PmLocationId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=PM_LOCATION_PATTERN),
    AfterValidator(_not_reserved_location),
]
"""A PM location id; `unknown` (any case) is the platform's own "Location unknown" (R-ROUTE-8) and is refused."""


class PatientOut(ApiModel):
    patient_id: str
    first_name: str
    last_name: str
    date_of_birth: str
    cell_phone: str | None
    landlines: list[str]
    email: str | None
    external_id: str | None
    location: str | None
    verified: bool
    dob_verified_at: str | None
    conversation_id: str
    created_at: str


class PatientDetailOut(PatientOut):
    sms_opted_out: bool  # R-SMS-2: the cell phone texted STOP to the practice (GET /patients/{patient_id} only)


class PatientList(ApiModel):
    items: list[PatientOut]


def patient_out(patient: Patient) -> dict[str, Any]:
    return {
        "patient_id": patient.patient_id,
        "first_name": patient.first_name,
        "last_name": patient.last_name,
        "date_of_birth": patient.date_of_birth.isoformat(),
        "cell_phone": patient.cell_phone,
        "landlines": list(patient.landlines),
        "email": patient.email,
        "external_id": patient.external_id,
        "location": patient.location,
        "verified": patient.verified,
        "dob_verified_at": iso(patient.dob_verified_at) if patient.dob_verified_at else None,
        "conversation_id": patient.conversation_id,
        "created_at": iso(patient.created_at),
    }
