"""The routing decision as a pure function, over random settings, subscriptions and conversation states
(R-ROUTE-1, R-ROUTE-8, R-ROUTE-12)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from frontdesk.domain.reasons import REASONS
from frontdesk.domain.routing import (
    UNASSIGNED,
    Holder,
    RoutingInput,
    Settings,
    Subscriptions,
    decide,
    location_bucket,
    reason_bucket,
)

STAFF = [f"s{i}" for i in range(8)]
LOCATIONS = ["man", "bk", "qns"]
INBOXES = ["i1", "i2"]

reasons = st.one_of(st.none(), st.sampled_from(REASONS))
locations = st.one_of(st.none(), st.sampled_from(LOCATIONS))
subscriptions = st.dictionaries(
    st.sampled_from(STAFF),
    st.builds(
        Subscriptions,
        reasons=st.frozensets(st.sampled_from(REASONS)),
        locations=st.frozensets(st.sampled_from([*LOCATIONS, "unknown"])),
        inboxes=st.frozensets(st.sampled_from([UNASSIGNED, *INBOXES])),
    ),
)
holders = st.one_of(
    st.none(),
    st.just(Holder(UNASSIGNED)),
    st.builds(Holder, st.just("staff"), st.sampled_from(STAFF)),
    st.builds(Holder, st.just("inbox"), st.sampled_from(INBOXES)),
)


@st.composite
def inputs(draw: st.DrawFn) -> RoutingInput:
    holder = draw(holders)
    status = "closed" if holder is None else draw(st.sampled_from(["open", "closed"]))
    return RoutingInput(
        settings=Settings(draw(st.booleans()), draw(st.booleans())),
        subscriptions=draw(subscriptions),
        status=status,
        holder=holder if status == "open" else None,
        reason=draw(reasons),
        reason_source="patient",
        location=draw(locations),
        location_source="profile",
        target_inbox=draw(st.one_of(st.none(), st.sampled_from(INBOXES))),
    )


def _held(data: RoutingInput) -> bool:
    return data.status == "open" and data.holder is not None and data.holder.type != UNASSIGNED


def _wants(data: RoutingInput, subs: Subscriptions) -> bool:
    """R-ROUTE-8 read literally: for each dimension that is on, the message's value is one they subscribe to."""
    checks = []
    if data.settings.reasons_enabled:
        checks.append(reason_bucket(data.reason) in subs.reasons)
    if data.settings.locations_enabled:
        checks.append(location_bucket(data.location) in subs.locations)
    return all(checks)


@settings(max_examples=400)
@given(inputs())
def test_r_route_1_held_conversations_stay_with_their_holder_who_is_notified(data: RoutingInput) -> None:
    decision = decide(data)
    if not _held(data):
        return
    assert data.holder is not None
    assert decision.holder == data.holder
    assert decision.listings == (data.holder.listing(),)
    if data.holder.type == "staff":
        assert decision.recipients == (data.holder.id,)
    else:
        expected = sorted(s for s, subs in data.subscriptions.items() if data.holder.id in subs.inboxes)
        assert list(decision.recipients) == expected


@settings(max_examples=400)
@given(inputs())
def test_r_route_1_closed_or_unassigned_conversations_open_in_unassigned(data: RoutingInput) -> None:
    decision = decide(data)
    if _held(data) or data.target_inbox:
        return
    assert decision.holder == Holder(UNASSIGNED)
    assert decision.listings[0] == UNASSIGNED
    # R-ROUTE-8: labelled with its reason and location
    assert decision.labels == {"reason": data.reason, "location": data.location}


@settings(max_examples=600)
@given(inputs())
def test_r_route_8_recipients_are_exactly_those_matching_every_enabled_dimension(data: RoutingInput) -> None:
    decision = decide(data)
    if _held(data) or data.target_inbox or not data.settings.dimensions():
        return
    for staff_id, subs in data.subscriptions.items():
        assert (staff_id in decision.recipients) == _wants(data, subs)
    # ... each of them has it listed in their own inbox, nobody else does
    personal = {name.split("#", 1)[1] for name in decision.listings if name.startswith("staff#")}
    assert personal == set(decision.recipients)
    assert decision.explanation["recipients"] == list(decision.recipients)
    assert decision.explanation["dimensions"] == data.settings.dimensions()


@settings(max_examples=300)
@given(inputs(), st.sampled_from(STAFF), st.sampled_from(REASONS), st.sampled_from([*LOCATIONS, "unknown"]))
def test_r_route_8_subscribing_to_more_never_loses_a_notification(
    data: RoutingInput, staff_id: str, reason: str, location: str
) -> None:
    before = set(decide(data).recipients)
    current = data.subscriptions.get(staff_id, Subscriptions())
    wider = Subscriptions(current.reasons | {reason}, current.locations | {location}, current.inboxes)
    after = set(
        decide(RoutingInput(**{**data.__dict__, "subscriptions": {**data.subscriptions, staff_id: wider}})).recipients
    )
    assert before <= after


@settings(max_examples=300)
@given(inputs())
def test_r_route_8_turning_on_a_dimension_only_narrows_recipients(data: RoutingInput) -> None:
    if _held(data) or data.target_inbox or not data.settings.reasons_enabled or data.settings.locations_enabled:
        return
    one = set(decide(data).recipients)
    both = set(decide(RoutingInput(**{**data.__dict__, "settings": Settings(True, True)})).recipients)
    assert both <= one


@settings(max_examples=300)
@given(inputs())
def test_r_route_12_extension_inbox_takes_unheld_conversations_straight_there(data: RoutingInput) -> None:
    decision = decide(data)
    if _held(data) or not data.target_inbox:
        return
    assert decision.holder == Holder("inbox", data.target_inbox)
    assert decision.listings == (f"inbox#{data.target_inbox}",)
    expected = sorted(s for s, subs in data.subscriptions.items() if data.target_inbox in subs.inboxes)
    assert list(decision.recipients) == expected


def test_r_route_8_no_reason_counts_as_other_and_no_location_as_unknown() -> None:
    # Given Maria subscribes to `other` + "Location unknown", Tom to billing + Manhattan
    subs = {
        "maria": Subscriptions(frozenset({"other"}), frozenset({"unknown"})),
        "tom": Subscriptions(frozenset({"billing"}), frozenset({"man"})),
    }
    base = RoutingInput(Settings(True, True), subs, "closed", None, None, "none", None, "none")
    # When a message has neither reason nor location, Maria gets it
    assert decide(base).recipients == ("maria",)
    # When it is billing at Manhattan, Tom does
    billing = RoutingInput(Settings(True, True), subs, "closed", None, "billing", "patient", "man", "appointment")
    assert decide(billing).recipients == ("tom",)
    # Billing with no known location: nobody (AND across dimensions)
    nowhere = RoutingInput(Settings(True, True), subs, "closed", None, "billing", "patient", None, "none")
    assert decide(nowhere).recipients == ()


def test_routing_off_notifies_unassigned_triage_only() -> None:
    subs = {"ada": Subscriptions(inboxes=frozenset({UNASSIGNED})), "tom": Subscriptions(frozenset({"billing"}))}
    decision = decide(RoutingInput(Settings(), subs, "closed", None, "billing", "patient", None, "none"))
    assert decision.recipients == ("ada",) and decision.listings == (UNASSIGNED,)
    assert decision.explanation["rule"] == "unassigned_triage"
