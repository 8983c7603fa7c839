"""R-DOB-1..4 in the pure domain: first-login report, 30-day re-verification, lock-out, who may edit."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from frontdesk.domain import dob
from frontdesk.domain.patients import Patient

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ON_FILE = date(1980, 4, 2)
OTHER = date(1980, 4, 3)


def _patient(**overrides: object) -> Patient:
    base = Patient(
        practice_id="pr",
        patient_id="pt",
        first_name="Maria",
        last_name="Lopez",
        date_of_birth=ON_FILE,
        conversation_id="c",
        created_at=NOW - timedelta(days=400),
        cell_phone="+12125550100",
        verified=True,
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


def test_r_dob_1_first_login_must_confirm_before_the_conversation() -> None:
    assert dob.conversation_block(_patient(), NOW) == "dob_verification_required"
    assert dob.verification_required(_patient(), NOW)


def test_r_dob_1_first_login_match_lets_the_patient_through_without_notifying() -> None:
    outcome = dob.answer_dob(_patient(), ON_FILE, NOW)
    assert outcome.result == "verified" and outcome.notify is None
    assert dob.conversation_block(outcome.patient, NOW) is None


def test_r_dob_1_first_login_mismatch_waits_for_staff_and_keeps_the_dob_on_file() -> None:
    outcome = dob.answer_dob(_patient(), OTHER, NOW)
    assert outcome.result == "reported_different" and outcome.notify == "dob_reported_different"
    assert outcome.patient.date_of_birth == ON_FILE and outcome.patient.dob_reported == OTHER
    assert dob.conversation_block(outcome.patient, NOW) == "dob_review_pending"
    with pytest.raises(dob.DobBlocked) as blocked:
        dob.answer_dob(outcome.patient, ON_FILE, NOW)
    assert blocked.value.code == "dob_review_pending"


def test_r_dob_1_staff_setting_the_reported_dob_completes_verification() -> None:
    waiting = dob.answer_dob(_patient(), OTHER, NOW).patient
    assert dob.staff_may_change_dob(waiting, "staff")
    change = dob.change_dob(waiting, OTHER, NOW)
    assert change.completes_verification
    assert change.patient.date_of_birth == OTHER and dob.conversation_block(change.patient, NOW) is None
    other_fix = dob.change_dob(waiting, date(1979, 1, 1), NOW)
    assert not other_fix.completes_verification
    assert dob.conversation_block(other_fix.patient, NOW) == "dob_verification_required"


def test_r_dob_2_reverification_after_thirty_days() -> None:
    fresh = _patient(dob_verified_at=NOW - timedelta(days=30))
    assert dob.conversation_block(fresh, NOW) is None
    stale = _patient(dob_verified_at=NOW - timedelta(days=30, seconds=1))
    assert dob.conversation_block(stale, NOW) == "dob_verification_required"
    again = dob.answer_dob(stale, ON_FILE, NOW)
    assert again.result == "verified" and again.patient.dob_verified_at == NOW


def test_r_dob_2_three_failures_lock_and_the_team_hears_once_per_lockout() -> None:
    patient = _patient(dob_verified_at=NOW - timedelta(days=31))
    notices = []
    for _ in range(3):
        outcome = dob.answer_dob(patient, OTHER, NOW)
        assert outcome.result == "failed"
        assert dob.conversation_block(outcome.patient, NOW) is not None
        notices.append(outcome.notify)
        patient = outcome.patient
    assert notices == ["dob_verification_failed", None, None]
    assert patient.dob_state == "locked" and dob.conversation_block(patient, NOW) == "dob_locked"
    with pytest.raises(dob.DobBlocked):
        dob.answer_dob(patient, ON_FILE, NOW)
    assert not dob.staff_may_change_dob(patient, "staff") and dob.staff_may_change_dob(patient, "support")
    reset = dob.reset_lock(patient)
    assert reset.dob_state == "none" and reset.dob_failed_attempts == 0
    # a new lock-out notifies again
    assert dob.answer_dob(reset, OTHER, NOW).notify == "dob_verification_failed"


def test_r_dob_2_a_failure_keeps_the_patient_out_even_inside_thirty_days() -> None:
    patient = _patient(dob_verified_at=NOW - timedelta(days=2))
    failed = dob.answer_dob(patient, OTHER, NOW).patient
    assert dob.conversation_block(failed, NOW) == "dob_verification_required"


def test_r_dob_4_staff_may_edit_only_before_first_login_or_with_an_open_report() -> None:
    assert dob.staff_may_change_dob(_patient(verified=False), "staff")
    assert dob.staff_may_change_dob(_patient(verified=False), "admin")
    assert not dob.staff_may_change_dob(_patient(dob_verified_at=NOW), "admin")
    assert dob.staff_may_change_dob(_patient(dob_state="review_pending"), "staff")
    assert dob.staff_may_change_dob(_patient(dob_verified_at=NOW), "support")


@given(
    answers=st.lists(st.booleans(), max_size=12),
    age_days=st.integers(min_value=0, max_value=90),
    first=st.booleans(),
)
def test_r_dob_3_the_team_is_notified_only_on_a_different_dob(answers: list[bool], age_days: int, first: bool) -> None:
    patient = _patient(dob_verified_at=None if first else NOW - timedelta(days=age_days))
    failures_since_notice = 0
    for matches in answers:
        try:
            outcome = dob.answer_dob(patient, ON_FILE if matches else OTHER, NOW)
        except dob.DobBlocked:
            assert patient.dob_state in ("locked", "review_pending")
            break
        if matches:
            assert outcome.notify is None and outcome.result == "verified"
            failures_since_notice = 0
        else:
            assert outcome.result in ("reported_different", "failed")
            assert outcome.patient.date_of_birth == ON_FILE  # the DOB on file never changes by the patient
            if outcome.result == "failed":
                assert (outcome.notify is not None) == (failures_since_notice == 0)
                failures_since_notice += 1
            assert outcome.patient.dob_failed_attempts <= dob.MAX_DOB_FAILURES
        patient = outcome.patient
