"""Issue 12 item 10: the runner's execution environments - a pool of instances per function, each its own load of
the function's code and its own Logger keys, one invocation at a time, new ones up to a cap."""

from __future__ import annotations

import contextvars
import threading

import pytest

from infra.local import functions
from infra.local.functions import Pool, Throttled
from infra.template import wiring

WIRED = wiring()


def test_two_busy_instances_share_no_module_state() -> None:
    # Given two invocations of the staff API in flight at once
    pool = Pool(WIRED.functions["StaffApiFunction"], cap=4)
    first, second = pool.acquire(), pool.acquire()
    try:
        # Then they run on two instances, each its own load of the handler and of its sibling modules
        assert first.number != second.number
        assert first.module is not second.module
        assert first.module.app is not second.module.app  # the resolver holding the current event
        assert first.module.staff_patients is not second.module.staff_patients
        assert first.module.staff_patients.router is not second.module.staff_patients.router
        assert pool.stats() | {"invocations": 0} == {
            "instances": 2,
            "busy": 2,
            "max_in_flight": 2,
            "invocations": 0,
            "throttled": 0,
        }
    finally:
        pool.release(first)
        pool.release(second)
    # And an idle instance is reused (warm), not loaded again
    again = pool.acquire()
    pool.release(again)
    assert pool.stats()["instances"] == 2


def test_one_instance_serves_one_invocation_at_a_time_and_the_cap_throttles(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(functions, "THROTTLE_WAIT_SECONDS", 0.2)
    # Given a function capped at one instance, busy
    pool = Pool(WIRED.functions["RoutingFunction"], cap=1)
    busy = pool.acquire()
    # When a second invocation arrives  Then it waits, and is throttled when nothing frees up
    with pytest.raises(Throttled):
        pool.acquire()
    assert pool.stats()["throttled"] == 1
    # And it gets the instance as soon as the first invocation returns
    got: list[object] = []
    waiter = threading.Thread(target=lambda: got.append(pool.acquire()))
    monkeypatch.setattr(functions, "THROTTLE_WAIT_SECONDS", 5)
    waiter.start()
    pool.release(busy)
    waiter.join(timeout=5)
    assert got == [busy]
    pool.release(busy)


def test_logger_keys_appended_in_one_instance_are_in_no_other_instance() -> None:
    # Given two instances of the CSV import function
    pool = Pool(WIRED.functions["CsvImportFunction"], cap=2)
    first, second = pool.acquire(), pool.acquire()
    try:

        def keys_after_append(instance: functions.Instance, **keys: str) -> dict[str, object]:
            functions._LogState.current.set(instance.log_state)
            instance.module.logger.append_keys(**keys)
            return dict(instance.module.logger.get_current_keys())

        # When one invocation appends practice A's ids and the other practice B's (each in its own context)
        keys_a = contextvars.copy_context().run(keys_after_append, first, practice_id="A", import_id="import-A")
        keys_b = contextvars.copy_context().run(keys_after_append, second, practice_id="B")
        # Then neither sees the other's keys, as two Lambda execution environments would not
        assert (keys_a["practice_id"], keys_a["import_id"]) == ("A", "import-A")
        assert keys_b["practice_id"] == "B" and keys_b.get("import_id") is None
    finally:
        pool.release(first)
        pool.release(second)


def test_each_invocation_reads_its_own_current_event_though_powertools_keeps_it_on_a_class() -> None:
    from aws_lambda_powertools.event_handler.api_gateway import BaseRouter

    # Given two instances of the staff API, each in an invocation of its own (as invoke runs them)
    pool = Pool(WIRED.functions["StaffApiFunction"], cap=2)
    first, second = pool.acquire(), pool.acquire()
    one, two = contextvars.copy_context(), contextvars.copy_context()
    try:

        def resolve_sets(event: str) -> None:  # what APIGatewayHttpResolver.resolve does first
            BaseRouter.current_event = event  # type: ignore[assignment]

        # When each resolver has set its current event (the second after the first)
        one.run(resolve_sets, "event of caller 1")
        two.run(resolve_sets, "event of caller 2")
        # Then the first invocation's routers still read the first caller's event, the second's the second's
        assert one.run(lambda: first.module.staff_patients.router.current_event) == "event of caller 1"
        assert one.run(lambda: first.module.app.current_event) == "event of caller 1"
        assert two.run(lambda: second.module.staff_patients.router.current_event) == "event of caller 2"
    finally:
        pool.release(first)
        pool.release(second)
