"""Response models shared by several functions (the OpenAPI document is generated from them)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from frontdesk.adapters.clock import iso
from frontdesk.domain.patients import Patient


class ApiModel(BaseModel):
    """The base of every request and response model. Deferred: a model's validator is built the first time a route
    uses it, not when its module is imported, so a cold start builds only the models of the route it serves (the
    OpenAPI document is the same: `make openapi` builds them all)."""

    model_config = ConfigDict(defer_build=True)


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
