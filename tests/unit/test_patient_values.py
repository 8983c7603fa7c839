"""R-CREATE-1: names and dates of birth on manual entry."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from frontdesk.domain.patients import clean_name, parse_dob
from frontdesk.errors import ValidationFailed

TODAY = date(2026, 11, 24)


@given(st.dates(min_value=date(1900, 1, 1), max_value=TODAY))
def test_r_create_1_every_real_past_date_is_accepted_in_iso(day: date) -> None:
    assert parse_dob(day.isoformat(), TODAY) == day


@given(st.dates(min_value=date(1900, 1, 1), max_value=TODAY))
def test_r_import_5_us_dates_are_read_when_allowed(day: date) -> None:
    assert parse_dob(f"{day.month:02d}/{day.day:02d}/{day.year}", TODAY, allow_us=True) == day


@pytest.mark.parametrize(
    "raw",
    ["", "2023-02-30", "1980/04/02", "04/02/1980", "tomorrow", "1899-12-31", (TODAY + timedelta(days=1)).isoformat()],
)
def test_r_create_1_malformed_or_impossible_dob_is_a_400_naming_the_field(raw: str) -> None:
    with pytest.raises(ValidationFailed) as error:
        parse_dob(raw, TODAY)
    assert error.value.field == "date_of_birth"


def test_r_create_1_names_are_required_and_whitespace_folded() -> None:
    assert clean_name("  Maria   del  Carmen ", field="first_name") == "Maria del Carmen"
    with pytest.raises(ValidationFailed) as error:
        clean_name("   ", field="last_name")
    assert error.value.field == "last_name"
    with pytest.raises(ValidationFailed):
        clean_name("x" * 101, field="first_name")
