"""Routing settings, reasons, locations, subscriptions and voicemail extensions (R-ROUTE-2, 4, 10, 11, 12)."""

from __future__ import annotations

from dataclasses import replace

from frontdesk.auth import Principal
from frontdesk.domain.appointments import Location
from frontdesk.domain.reasons import LABELS, REASONS, UNKNOWN_LOCATION, subscribers_by_reason
from frontdesk.domain.routing import UNASSIGNED, RoutingConfig, Settings, Subscriptions, VoicemailExtension
from frontdesk.errors import Conflict, Forbidden, NotFound, ValidationFailed
from frontdesk.store import appointments as appointments_store
from frontdesk.store import practices as practices_store
from frontdesk.store import routing as store
from frontdesk.store import voicemail_extensions as extensions_store


def _practice(caller: Principal) -> str:
    assert caller.practice_id is not None
    return caller.practice_id


def get_settings(caller: Principal) -> Settings:
    return store.get_config(_practice(caller)).settings


def put_settings(caller: Principal, reasons_enabled: bool, locations_enabled: bool) -> Settings:
    """R-ROUTE-2: both off by default; location routing needs a PM/EHR integration."""
    practice_id = _practice(caller)
    if locations_enabled:
        _require_pm(practice_id)
    wanted = Settings(reasons_enabled, locations_enabled)
    return store.update_config(practice_id, lambda current: replace(current, settings=wanted)).settings


def _require_pm(practice_id: str) -> None:
    practice = practices_store.get_practice(practice_id)
    if practice is None:
        raise NotFound("No such practice.")
    if not practice.has_pm_integration:
        raise Conflict("Location routing needs a PM/EHR integration.", code="pm_integration_required")


def reasons(caller: Principal) -> list[dict[str, object]]:
    """R-ROUTE-4 / R-ROUTE-11: the whole catalogue, who subscribes to each, and whether patients see it."""
    config = store.get_config(_practice(caller))
    by_reason = subscribers_by_reason({sid: subs.reasons for sid, subs in config.subscriptions.items()})
    return [
        {
            "reason": reason,
            "label": LABELS[reason],
            "subscribers": by_reason[reason],
            "visible_to_patients": bool(by_reason[reason]),
        }
        for reason in REASONS
    ]


def locations(caller: Principal) -> list[tuple[Location, list[str]]]:
    practice_id = _practice(caller)
    config = store.get_config(practice_id)
    found = appointments_store.list_locations(practice_id)
    return [
        (location, sorted(sid for sid, subs in config.subscriptions.items() if location.location_id in subs.locations))
        for location in found
    ]


def sync_locations(caller: Principal) -> list[Location]:
    """ "Sync with EHR": copies the PM feed's locations into routing (R-ROUTE-2)."""
    practice_id = _practice(caller)
    _require_pm(practice_id)
    feed = appointments_store.list_pm_locations(practice_id)
    appointments_store.save_locations(practice_id, feed)
    return feed


def _may_manage(caller: Principal, staff_id: str) -> str:
    """R-ROUTE-10 / R-ROUTE-11: a staff member manages their own subscriptions, an administrator anyone's."""
    practice_id = _practice(caller)
    if caller.role != "admin" and caller.staff_id != staff_id:
        raise Forbidden("You may only change your own subscriptions.")
    if practices_store.get_staff(practice_id, staff_id) is None:
        raise NotFound("No such staff member.")
    return practice_id


def get_subscriptions(caller: Principal, staff_id: str) -> Subscriptions:
    """Any staff member of the practice may read anyone's (API.md: GETs for any staff)."""
    practice_id = _practice(caller)
    if practices_store.get_staff(practice_id, staff_id) is None:
        raise NotFound("No such staff member.")
    return store.get_config(practice_id).subscriptions.get(staff_id, Subscriptions())


def put_subscriptions(
    caller: Principal, staff_id: str, reasons_: list[str], locations_: list[str], inboxes: list[str]
) -> Subscriptions:
    practice_id = _may_manage(caller, staff_id)
    unknown_reasons = [r for r in reasons_ if r not in REASONS]
    if unknown_reasons:
        raise ValidationFailed("Unknown reason.", field="reasons")
    wanted_locations = set(locations_) - {UNKNOWN_LOCATION}
    if wanted_locations:
        known = {location.location_id for location in appointments_store.list_locations(practice_id)}
        if not wanted_locations <= known:
            raise ValidationFailed("Unknown location.", field="locations")
    for inbox in set(inboxes) - {UNASSIGNED}:
        if practices_store.get_inbox(practice_id, inbox) is None:
            raise ValidationFailed("Unknown inbox.", field="inboxes")
    subs = Subscriptions(frozenset(reasons_), frozenset(locations_), frozenset(inboxes))

    def change(current: RoutingConfig) -> RoutingConfig:
        return replace(current, subscriptions={**current.subscriptions, staff_id: subs})

    return store.update_config(practice_id, change).subscriptions[staff_id]


def put_extension(caller: Principal, extension: str, reason: str | None, inbox_id: str | None) -> VoicemailExtension:
    """R-ROUTE-12: an extension maps to a reason or to a custom shared inbox."""
    practice_id = _practice(caller)
    if (reason is None) == (inbox_id is None):
        raise ValidationFailed("Give either a reason or an inbox_id.", field="reason")
    if reason is not None and reason not in REASONS:
        raise ValidationFailed("Unknown reason.", field="reason")
    if inbox_id is not None and practices_store.get_inbox(practice_id, inbox_id) is None:
        raise NotFound("No such inbox.")
    mapping = VoicemailExtension(extension, reason, inbox_id)
    extensions_store.put_extension(practice_id, mapping)
    return mapping
