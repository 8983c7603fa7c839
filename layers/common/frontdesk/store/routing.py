"""A practice's routing configuration: its settings and every staff member's subscriptions, one item read in one
GetItem and changed under optimistic locking (docs/data-model.md A25)."""

from __future__ import annotations

from collections.abc import Callable

from pynamodb.attributes import BooleanAttribute, JSONAttribute, UnicodeAttribute, VersionAttribute
from pynamodb.exceptions import DoesNotExist, PutError

from frontdesk.domain.routing import RoutingConfig, Settings, Subscriptions
from frontdesk.errors import Conflict
from frontdesk.store import keys
from frontdesk.store.base import TableItem


class RoutingConfigItem(TableItem, discriminator="RoutingConfig"):
    """One per practice: settings and every staff member's subscriptions, so routing reads it in one GetItem."""

    practice_id = UnicodeAttribute()
    reasons_enabled = BooleanAttribute(default=False)
    locations_enabled = BooleanAttribute(default=False)
    subscriptions = JSONAttribute(null=True)  # {staff_id: {reasons: [], locations: [], inboxes: []}}
    version = VersionAttribute()

    @staticmethod
    def key(practice_id: str) -> tuple[str, str]:
        return keys.practice_pk(practice_id), "ROUTING"


def to_config(item: RoutingConfigItem | None, practice_id: str) -> RoutingConfig:
    if item is None:
        return RoutingConfig(practice_id, Settings(), {}, 0)
    raw = item.subscriptions or {}
    return RoutingConfig(
        practice_id=practice_id,
        settings=Settings(bool(item.reasons_enabled), bool(item.locations_enabled)),
        subscriptions={staff_id: Subscriptions.from_dict(value) for staff_id, value in raw.items()},
        version=int(item.version or 0),
    )


def get_config(practice_id: str, *, consistent: bool = False) -> RoutingConfig:
    try:
        item = RoutingConfigItem.get(*RoutingConfigItem.key(practice_id), consistent_read=consistent)
    except DoesNotExist:
        return to_config(None, practice_id)
    return to_config(item, practice_id)


def update_config(
    practice_id: str, change: Callable[[RoutingConfig], RoutingConfig], *, attempts: int = 25
) -> RoutingConfig:
    """Optimistic locking (R-REL-2): read, change, write conditioned on the version read; retry on a lost race, so
    concurrent edits end in a state equal to some serial order."""
    for _ in range(attempts):
        current = get_config(practice_id, consistent=True)
        wanted = change(current)
        pk, sk = RoutingConfigItem.key(practice_id)
        item = RoutingConfigItem(
            pk,
            sk,
            practice_id=practice_id,
            reasons_enabled=wanted.settings.reasons_enabled,
            locations_enabled=wanted.settings.locations_enabled,
            subscriptions={staff_id: subs.as_dict() for staff_id, subs in sorted(wanted.subscriptions.items())},
        )
        if current.version:
            item.version = current.version
        try:
            item.save()  # VersionAttribute: conditioned on the version read (or on the item not existing yet)
        except PutError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                continue
            raise
        return to_config(item, practice_id)
    raise Conflict("The routing settings are being changed by someone else; try again.", code="concurrent_update")
