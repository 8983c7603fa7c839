"""GET/PUT /office-hours (R-HOURS-1): strict validation in the domain, one item in the store."""

from __future__ import annotations

from collections.abc import Mapping

from frontdesk.adapters.clock import Clock, get_clock
from frontdesk.auth import Principal
from frontdesk.domain.office_hours import OfficeHours, OfficeHoursInvalid
from frontdesk.errors import ValidationFailed
from frontdesk.services.patients import actor_of
from frontdesk.store import office_hours as store


def _practice(caller: Principal) -> str:
    assert caller.practice_id is not None
    return caller.practice_id


def get_hours(caller: Principal) -> OfficeHours:
    return store.get_office_hours(_practice(caller))


def put_hours(caller: Principal, body: Mapping[str, object], clock: Clock | None = None) -> OfficeHours:
    """The whole settings at once; a bad field is a 400 naming it (e.g. `weekly.mon[0]`)."""
    try:
        hours = OfficeHours.from_dict(body)
    except OfficeHoursInvalid as invalid:
        raise ValidationFailed(str(invalid), field=invalid.field) from None
    return store.save_office_hours(_practice(caller), hours, actor_of(caller), (clock or get_clock()).now())
