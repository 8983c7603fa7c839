"""R-REL-2: a cancelled transaction's reasons keep their item positions (routing and intake read codes[i])."""

from __future__ import annotations

from types import SimpleNamespace

from frontdesk.store.base import cancellation_codes


def test_r_rel_2_cancellation_codes_keep_one_entry_per_item_in_item_order() -> None:
    # Given a transaction of three items where only the second failed its condition (PynamoDB gives None for the
    # items that did not cause the cancellation)
    error = SimpleNamespace(cancellation_reasons=[None, SimpleNamespace(code="ConditionalCheckFailed"), None])
    # When its codes are read  Then the failure is at index 1, not shifted to index 0
    assert cancellation_codes(error) == ["None", "ConditionalCheckFailed", "None"]  # type: ignore[arg-type]
    assert cancellation_codes(SimpleNamespace()) == []  # type: ignore[arg-type]


def _cancelled(*codes: str | None) -> Exception:
    from pynamodb.exceptions import CancellationReason, TransactWriteError, VerboseClientError

    reasons = [CancellationReason(code=code) if code else None for code in codes]
    cause = VerboseClientError(
        {"Error": {"Code": "TransactionCanceledException", "Message": "cancelled"}},
        "TransactWriteItems",
        cancellation_reasons=reasons,
    )
    return TransactWriteError("cancelled", cause=cause)


def test_r_import_2_conditional_puts_set_aside_failed_conditions_and_retry_conflicts(monkeypatch) -> None:
    """put_each_if (external-id claims): a put whose condition failed is reported and left out of the next attempt;
    a conflict with another transaction is sent again whole."""
    from contextlib import contextmanager

    from frontdesk.store import base

    attempts: list[list[str]] = []
    outcomes = [_cancelled(None, "TransactionConflict", None), _cancelled(None, "ConditionalCheckFailed", None), None]

    @contextmanager
    def scripted_transaction():  # type: ignore[no-untyped-def]
        saved: list[str] = []
        yield SimpleNamespace(save=lambda item, condition: saved.append(item))
        attempts.append(saved)
        outcome = outcomes.pop(0)
        if outcome is not None:
            raise outcome

    monkeypatch.setattr(base, "transaction", scripted_transaction)
    monkeypatch.setattr(base.backoff.time, "sleep", lambda seconds: None)
    failed = base.put_each_if([("a", None), ("b", None), ("c", None)])  # type: ignore[list-item]
    assert failed == {1}
    assert attempts == [["a", "b", "c"], ["a", "b", "c"], ["a", "c"]]
