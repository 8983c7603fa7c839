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
