"""Key builders: the practice is the first part of every partition key (docs/data-model.md)."""

from __future__ import annotations

import hashlib


def practice_pk(practice_id: str) -> str:
    return f"PRACTICE#{practice_id}"


def patient_pk(practice_id: str, patient_id: str) -> str:
    return f"PRACTICE#{practice_id}#PATIENT#{patient_id}"


def conversation_pk(practice_id: str, conversation_id: str) -> str:
    return f"PRACTICE#{practice_id}#CONV#{conversation_id}"


def phone_pk(practice_id: str, e164: str) -> str:
    return f"PRACTICE#{practice_id}#PHONE#{e164}"


def external_id_pk(practice_id: str, external_id: str) -> str:
    return f"PRACTICE#{practice_id}#EXTID#{external_id}"


def name_dob_pk(practice_id: str, first_name: str, last_name: str, dob_iso: str) -> str:
    # Hashed: names and DOBs are PHI and keys surface in more places (metrics, traces) than attributes do.
    identity = "|".join((first_name.casefold().strip(), last_name.casefold().strip(), dob_iso))
    return f"PRACTICE#{practice_id}#NAMEDOB#{hashlib.sha256(identity.encode()).hexdigest()[:32]}"


def duplicates_pk(practice_id: str) -> str:
    return f"PRACTICE#{practice_id}#DUPLICATES"


def listing_pk(practice_id: str, listing: str) -> str:
    """listing: 'unassigned', 'inbox#<inbox_id>' or 'staff#<staff_id>'."""
    return f"PRACTICE#{practice_id}#LIST#{listing}"


def notifications_pk(practice_id: str, staff_id: str) -> str:
    return f"PRACTICE#{practice_id}#STAFF#{staff_id}#NOTIFICATIONS"


def appointment_pk(practice_id: str, appointment_id: str) -> str:
    return f"PRACTICE#{practice_id}#APPT#{appointment_id}"


def upcoming_appointments_pk(practice_id: str, patient_id: str) -> str:
    return f"PRACTICE#{practice_id}#PATIENT#{patient_id}#UPCOMING"


def login_pk(practice_id: str, e164: str) -> str:
    return f"PRACTICE#{practice_id}#LOGIN#{e164}"


def idempotency_pk(practice_id: str, scope: str, key: str) -> str:
    return f"PRACTICE#{practice_id}#IDEMPOTENCY#{scope}#{key}"


def import_pk(practice_id: str, import_id: str) -> str:
    return f"PRACTICE#{practice_id}#IMPORT#{import_id}"


def imports_index_pk(practice_id: str) -> str:
    return f"PRACTICE#{practice_id}#IMPORTS"


def import_writers_pk(practice_id: str) -> str:
    return f"PRACTICE#{practice_id}#IMPORTWRITERS"


def number_pk(e164: str) -> str:
    # The one key that does not start with a practice: an inbound SMS/voicemail names only the number it was
    # sent to, and this claim is how the webhook finds (and uniquely owns) the practice.
    return f"NUMBER#{e164}"


def staff_email_pk(email: str) -> str:
    # Per stack, not per practice: an email is one user's name in the identity provider (R-AUTH-1), so two staff
    # records never share one (API.md: 409 email_taken). Lower-cased: mail providers ignore case.
    return f"STAFFEMAIL#{email.strip().lower()}"


PENDING_PHONE_CHANGES = "PHONEREQ#PENDING"
# Sparse gsi3 partitions of the R-HOURS jobs (docs/data-model.md A32, A34): only what waits is in them.
RESPONSE_WAITS = "WAIT#DUE"  # conversations waiting for a staff reply, by the instant the wait becomes overdue
UNREAD_REPLIES = "UNREAD#DUE"  # staff replies not read yet, by the instant their next reminder is due


def overdue_pk(practice_id: str) -> str:
    return f"PRACTICE#{practice_id}#OVERDUE"
