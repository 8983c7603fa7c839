"""Response models shared by several functions (the OpenAPI document is generated from them)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from frontdesk.adapters.clock import iso
from frontdesk.domain.patients import Patient


class PatientOut(BaseModel):
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


class PatientList(BaseModel):
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
