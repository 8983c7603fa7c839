"""A practice's office hours (R-HOURS-1): one item beside the routing config, read with it in one BatchGetItem."""

from __future__ import annotations

from datetime import date, datetime

from pynamodb.attributes import JSONAttribute, ListAttribute, NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import DoesNotExist

from frontdesk.domain.office_hours import OfficeHours, weekly_from_lists
from frontdesk.domain.practices import Practice
from frontdesk.domain.routing import RoutingConfig
from frontdesk.store import keys
from frontdesk.store.base import TableItem
from frontdesk.store.practices import PracticeItem
from frontdesk.store.routing import RoutingConfigItem, to_config


class OfficeHoursItem(TableItem, discriminator="OfficeHours"):
    """In the practice partition next to ROUTING, so intake reads both in one request (docs/data-model.md A53)."""

    practice_id = UnicodeAttribute()
    timezone = UnicodeAttribute()
    weekly = JSONAttribute()  # {"mon": [["08:00","17:00"]], ...}
    closures = ListAttribute(of=UnicodeAttribute, null=True)  # ["YYYY-MM-DD", ...]
    after_hours_message = UnicodeAttribute()
    response_target_minutes = NumberAttribute()
    updated_at = UTCDateTimeAttribute()
    updated_by = UnicodeAttribute(null=True)

    @staticmethod
    def key(practice_id: str) -> tuple[str, str]:
        return keys.practice_pk(practice_id), "OFFICEHOURS"


def to_office_hours(item: OfficeHoursItem | None) -> OfficeHours:
    """Defaults (America/New_York, Mon-Fri 08:00-17:00, 240 minutes) when the practice saved none."""
    if item is None:
        return OfficeHours()
    return OfficeHours(
        timezone=item.timezone,
        weekly=weekly_from_lists(dict(item.weekly or {})),
        closures=frozenset(date.fromisoformat(str(day)) for day in item.closures or ()),
        after_hours_message=item.after_hours_message,
        response_target_minutes=int(item.response_target_minutes),
    )


def get_office_hours(practice_id: str, *, consistent: bool = False) -> OfficeHours:
    """One GetItem: the practice's settings, or the defaults when none are stored."""
    try:
        item = OfficeHoursItem.get(*OfficeHoursItem.key(practice_id), consistent_read=consistent)
    except DoesNotExist:
        return OfficeHours()
    return to_office_hours(item)


def practice_timezone(practice_id: str) -> str:
    """The practice's IANA time zone (quiet hours, R-SMS-4, read it here)."""
    return get_office_hours(practice_id).timezone


def save_office_hours(practice_id: str, hours: OfficeHours, actor: str, at: datetime) -> OfficeHours:
    """PUT /office-hours replaces the settings as a whole (last writer wins: one admin form, no merge of fields)."""
    data = hours.as_dict()
    pk, sk = OfficeHoursItem.key(practice_id)
    OfficeHoursItem(
        pk,
        sk,
        practice_id=practice_id,
        timezone=hours.timezone,
        weekly=data["weekly"],
        closures=list(data["closures"]),  # type: ignore[call-overload]
        after_hours_message=hours.after_hours_message,
        response_target_minutes=hours.response_target_minutes,
        updated_at=at,
        updated_by=actor,
    ).save()
    return hours


def config_and_hours(practice_id: str, *, consistent: bool = False) -> tuple[RoutingConfig, OfficeHours]:
    """The routing config and the office hours in ONE BatchGetItem (the message path's budget, A53)."""
    wanted = [RoutingConfigItem.key(practice_id), OfficeHoursItem.key(practice_id)]
    found = {type(item): item for item in TableItem.batch_get(wanted, consistent_read=consistent)}
    config_item = found.get(RoutingConfigItem)
    hours_item = found.get(OfficeHoursItem)
    return (
        to_config(config_item if isinstance(config_item, RoutingConfigItem) else None, practice_id),
        to_office_hours(hours_item if isinstance(hours_item, OfficeHoursItem) else None),
    )


def practice_and_hours(practice_id: str) -> tuple[Practice | None, OfficeHours]:
    """The practice and its office hours in ONE BatchGetItem: the provider webhooks' read of the practice, with the
    office hours riding along (A53)."""
    wanted = [PracticeItem.key(practice_id), OfficeHoursItem.key(practice_id)]
    found = {type(item): item for item in TableItem.batch_get(wanted)}
    practice_item = found.get(PracticeItem)
    hours_item = found.get(OfficeHoursItem)
    practice = None
    if isinstance(practice_item, PracticeItem):
        practice = Practice(
            practice_id=practice_item.practice_id,
            name=practice_item.name,
            country=practice_item.country,
            textable_number=practice_item.textable_number,
            has_pm_integration=bool(practice_item.has_pm_integration),
            created_at=practice_item.created_at,
        )
    return practice, to_office_hours(hours_item if isinstance(hours_item, OfficeHoursItem) else None)
