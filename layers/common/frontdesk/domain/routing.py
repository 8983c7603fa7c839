"""The routing decision as a pure function (R-ROUTE-1, R-ROUTE-7, R-ROUTE-8, R-ROUTE-12).

Given the routing settings, everyone's subscriptions, the conversation's state and the message, it says who holds
the conversation, which inboxes list it, its labels, who is notified — and why (the explanation is stored with the
message so a practice can answer "why did Maria get this and not Tom?"). The configuration it reads is here too:
RoutingConfig (settings + subscriptions, as stored) and VoicemailExtension (R-ROUTE-12).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from frontdesk.domain.conversations import Conversation, Message
from frontdesk.domain.patients import Patient
from frontdesk.domain.reasons import OTHER, UNKNOWN_LOCATION

UNASSIGNED = "unassigned"


@dataclass(frozen=True)
class Subscriptions:
    reasons: frozenset[str] = frozenset()
    locations: frozenset[str] = frozenset()  # location ids, or "unknown"
    inboxes: frozenset[str] = frozenset()  # "unassigned" and custom inbox ids

    def as_dict(self) -> dict[str, list[str]]:
        return {
            "reasons": sorted(self.reasons),
            "locations": sorted(self.locations),
            "inboxes": sorted(self.inboxes),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Subscriptions:
        data = data or {}
        return cls(
            reasons=frozenset(str(v) for v in data.get("reasons") or ()),
            locations=frozenset(str(v) for v in data.get("locations") or ()),
            inboxes=frozenset(str(v) for v in data.get("inboxes") or ()),
        )


@dataclass(frozen=True)
class Settings:
    reasons_enabled: bool = False
    locations_enabled: bool = False

    def dimensions(self) -> list[str]:
        return [name for name, on in (("reason", self.reasons_enabled), ("location", self.locations_enabled)) if on]


@dataclass(frozen=True)
class RoutingConfig:
    """A practice's routing settings and every staff member's subscriptions, as read (version: optimistic lock)."""

    practice_id: str
    settings: Settings
    subscriptions: dict[str, Subscriptions]
    version: int


@dataclass(frozen=True)
class VoicemailExtension:
    """R-ROUTE-12: a voicemail extension maps to a reason or a custom inbox (or neither)."""

    extension: str
    reason: str | None
    inbox_id: str | None


@dataclass(frozen=True)
class Holder:
    type: str  # unassigned | inbox | staff
    id: str | None = None

    def listing(self) -> str:
        return UNASSIGNED if self.type == UNASSIGNED else f"{self.type}#{self.id}"


@dataclass(frozen=True)
class RoutingInput:
    settings: Settings
    subscriptions: Mapping[str, Subscriptions]  # staff_id -> subscriptions
    status: str  # closed | open
    holder: Holder | None
    reason: str | None  # the message's effective reason (None: no reason)
    reason_source: str
    location: str | None  # location id (None: unknown)
    location_source: str
    target_inbox: str | None = None  # R-ROUTE-12: a voicemail extension mapped to a custom inbox


@dataclass(frozen=True)
class Decision:
    holder: Holder
    recipients: tuple[str, ...]
    listings: tuple[str, ...]  # "unassigned", "inbox#<id>", "staff#<id>"
    labels: dict[str, str | None]
    explanation: dict[str, Any] = field(default_factory=dict)


def reason_bucket(reason: str | None) -> str:
    """R-ROUTE-8: no reason counts as `other`."""
    return reason or OTHER


def location_bucket(location: str | None) -> str:
    """R-ROUTE-8: no location counts as `unknown` ("Location unknown")."""
    return location or UNKNOWN_LOCATION


def matches_filters(settings: Settings, subs: Subscriptions, reason: str | None, location: str | None) -> bool:
    """R-ROUTE-8 / R-ROUTE-10: for each enabled dimension the value is one the staff member subscribes to."""
    if settings.reasons_enabled and reason_bucket(reason) not in subs.reasons:
        return False
    return not (settings.locations_enabled and location_bucket(location) not in subs.locations)


def inbox_subscribers(subscriptions: Mapping[str, Subscriptions], inbox: str) -> list[str]:
    return sorted(staff_id for staff_id, subs in subscriptions.items() if inbox in subs.inboxes)


def decide(data: RoutingInput) -> Decision:
    labels = {"reason": data.reason, "location": data.location}
    dimensions = data.settings.dimensions()
    explanation: dict[str, Any] = {
        "dimensions": dimensions,
        "reason": data.reason,
        "reason_bucket": reason_bucket(data.reason),
        "reason_source": data.reason_source,
        "location": data.location,
        "location_bucket": location_bucket(data.location),
        "location_source": data.location_source,
        "previous_status": data.status,
        "previous_holder": _holder_dict(data.holder),
    }
    held = data.status == "open" and data.holder is not None and data.holder.type != UNASSIGNED
    if held and data.holder is not None:
        # R-ROUTE-1: a held conversation stays with its holder, who is notified.
        holder = data.holder
        if holder.type == "staff":
            recipients = [str(holder.id)]
            rule = "held_by_staff"
        else:
            recipients = inbox_subscribers(data.subscriptions, str(holder.id))
            rule = "held_by_inbox"
        return _decision(holder, recipients, [holder.listing()], labels, explanation, rule)
    if data.target_inbox:
        # R-ROUTE-12: the voicemail extension sends the conversation straight to that custom inbox.
        holder = Holder("inbox", data.target_inbox)
        recipients = inbox_subscribers(data.subscriptions, data.target_inbox)
        return _decision(holder, recipients, [holder.listing()], labels, explanation, "voicemail_extension_inbox")
    holder = Holder(UNASSIGNED)
    if not dimensions:
        # Routing off: everything waits in Unassigned for whoever triages it (those subscribed to Unassigned).
        recipients = inbox_subscribers(data.subscriptions, UNASSIGNED)
        return _decision(holder, recipients, [UNASSIGNED], labels, explanation, "unassigned_triage")
    # R-ROUTE-8: AND across enabled dimensions; recipients also list it in their own inbox.
    recipients = sorted(
        staff_id
        for staff_id, subs in data.subscriptions.items()
        if matches_filters(data.settings, subs, data.reason, data.location)
    )
    listings = [UNASSIGNED, *(f"staff#{staff_id}" for staff_id in recipients)]
    return _decision(holder, recipients, listings, labels, explanation, "subscriptions")


def _decision(
    holder: Holder,
    recipients: list[str],
    listings: list[str],
    labels: dict[str, str | None],
    explanation: dict[str, Any],
    rule: str,
) -> Decision:
    explanation = {**explanation, "rule": rule, "holder": _holder_dict(holder), "recipients": list(recipients)}
    return Decision(holder, tuple(recipients), tuple(dict.fromkeys(listings)), labels, explanation)


def _holder_dict(holder: Holder | None) -> dict[str, str | None] | None:
    return None if holder is None else {"type": holder.type, "id": holder.id}


@dataclass(frozen=True)
class RoutingInputs:
    """What routing one message reads (A21): the practice's configuration, the conversation, the message, the profile
    (None when gone: a merge moved them, or the write never committed)."""

    config: RoutingConfig
    conversation: Conversation | None
    message: Message | None
    patient: Patient | None
