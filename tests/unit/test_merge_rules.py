"""R-MERGE-1, R-MERGE-2 in the pure domain: who may merge, and which numbers the merged profile keeps."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from frontdesk.domain.merge import MergeRefused, check_merge, plan_merge
from frontdesk.domain.patients import Patient

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def _p(pid: str, cell: str | None = None, landlines: list[str] | None = None) -> Patient:
    return Patient("pr", pid, "A", "B", date(1980, 1, 1), f"c-{pid}", NOW, cell_phone=cell, landlines=landlines or [])


def test_r_merge_1_different_cell_phones_need_support() -> None:
    target, source = _p("t", "+12125550100"), _p("s", "+12125550199")
    with pytest.raises(MergeRefused) as refused:
        check_merge(target, source, "staff")
    assert refused.value.code == "different_cell_phones"
    with pytest.raises(MergeRefused):
        check_merge(target, source, "admin")
    check_merge(target, source, "support")


def test_r_merge_2_at_most_one_cell_or_the_same_one_merges_and_landlines_never_block() -> None:
    check_merge(_p("t", "+12125550100"), _p("s", None, ["+12125550111"]), "staff")
    check_merge(_p("t", None, ["+12125550122"]), _p("s", "+12125550100"), "staff")
    check_merge(_p("t", "+12125550100", ["+12125550122"]), _p("s", "+12125550100", ["+12125550133"]), "staff")
    with pytest.raises(MergeRefused):
        check_merge(_p("t"), _p("t"), "support")


def test_r_merge_2_the_landline_is_added_to_the_target() -> None:
    plan = plan_merge(_p("t", "+12125550100"), _p("s", None, ["+12125550111"]))
    assert plan.target.cell_phone == "+12125550100" and plan.target.landlines == ["+12125550111"]
    assert plan.moved_numbers == [("+12125550111", "landline")]
    assert plan.dropped_numbers == ["+12125550111"]


def test_r_merge_2_a_target_without_cell_takes_the_source_cell() -> None:
    plan = plan_merge(_p("t", None, ["+12125550122"]), _p("s", "+12125550100"))
    assert plan.target.cell_phone == "+12125550100" and plan.target.landlines == ["+12125550122"]
    assert ("+12125550100", "cell") in plan.moved_numbers


def test_r_merge_2_a_verified_source_cell_keeps_the_merged_patient_verified() -> None:
    source = _p("s", "+12125550100")
    source.verified = True
    assert plan_merge(_p("t", None, ["+12125550122"]), source).target.verified is True
    assert plan_merge(_p("t", "+12125550100"), _p("s", None, ["+12125550111"])).target.verified is False
