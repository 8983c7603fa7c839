"""Routing insight (R-ROUTE-14, R-ROUTE-15): the gaps in a practice's routing and who a hypothetical message would
reach. Both ask the routing decision itself (domain.routing.decide, the function every routed message goes through),
so they cannot drift from real routing; they read the config and the locations and write nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from frontdesk.auth import Principal
from frontdesk.domain.reasons import REASONS, UNKNOWN_LOCATION
from frontdesk.domain.routing import Decision, RoutingConfig, RoutingInput, decide
from frontdesk.errors import ValidationFailed
from frontdesk.store import appointments as appointments_store
from frontdesk.store import routing as routing_store

PROVIDER_CHANNELS = ("sms", "voicemail")


def _practice(caller: Principal) -> str:
    assert caller.practice_id is not None
    return caller.practice_id


def _new_message(config: RoutingConfig, reason: str | None, reason_source: str, location: str | None) -> Decision:
    """A message arriving in a closed conversation: how routing would decide it today."""
    return decide(
        RoutingInput(
            settings=config.settings,
            subscriptions=config.subscriptions,
            status="closed",
            holder=None,
            reason=reason,
            reason_source=reason_source,
            location=location,
            location_source="simulated" if location else "none",
        )
    )


@dataclass(frozen=True)
class Coverage:
    reasons_enabled: bool
    locations_enabled: bool
    uncovered: list[dict[str, str]]


def coverage(caller: Principal) -> Coverage:
    """Every reason of the catalogue (a voicemail extension or a sticky reason can carry one that patients are not
    offered) times every synced location and `unknown`, for the dimensions that are on, that reaches nobody."""
    practice_id = _practice(caller)
    config = routing_store.get_config(practice_id)
    settings = config.settings
    reasons: list[str | None] = list(REASONS) if settings.reasons_enabled else [None]
    locations: list[str | None] = [None]
    if settings.locations_enabled:
        locations = [*(loc.location_id for loc in appointments_store.list_locations(practice_id)), UNKNOWN_LOCATION]
    uncovered = []
    for reason in reasons:
        for location in locations:
            # `unknown` is how routing names a message without a location (R-ROUTE-8): ask with None.
            wanted_location = None if location == UNKNOWN_LOCATION else location
            if _new_message(config, reason, "simulated", wanted_location).recipients:
                continue
            item = {}
            if settings.reasons_enabled:
                item["reason"] = str(reason)
            if settings.locations_enabled:
                item["location"] = str(location)
            uncovered.append(item)
    return Coverage(settings.reasons_enabled, settings.locations_enabled, uncovered)


def simulate(caller: Principal, reason: str | None, location: str | None, channel: str) -> dict[str, Any]:
    """R-ROUTE-15: recipients, holder and the routing trace of a hypothetical message; nothing stored or sent."""
    practice_id = _practice(caller)
    if reason is not None and reason not in REASONS:
        raise ValidationFailed("Unknown reason.", field="reason")
    config = routing_store.get_config(practice_id)
    if location is not None and location != UNKNOWN_LOCATION:
        known = {loc.location_id for loc in appointments_store.list_locations(practice_id)}
        if location not in known:
            raise ValidationFailed("Unknown location.", field="location")
    if location == UNKNOWN_LOCATION:
        location = None
    source = "simulated"
    if channel in PROVIDER_CHANNELS:
        reason, source = None, f"cleared_by_{channel}"  # R-ROUTE-6, as intake does for these channels
    decision = _new_message(config, reason, source, location)
    return {
        "recipients": [{"staff_id": staff_id} for staff_id in decision.recipients],
        "holder": {"type": decision.holder.type, "id": decision.holder.id},
        "routing": decision.explanation,
    }
