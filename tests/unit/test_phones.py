"""R-CREATE-2: phone numbers are normalised to E.164 for the practice's country."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from frontdesk.domain.phones import InvalidPhone, mask_phone, normalize_phone, try_normalize_phone

VALID_US = "+12125550143"


@pytest.mark.parametrize(
    "raw",
    [
        "(212) 555-0143",
        "212-555-0143",
        "212.555.0143",
        "2125550143",
        "+1 212 555 0143",
        "1-212-555-0143",
        " 212 5550143 ",
    ],
)
def test_r_create_2_common_formats_normalise_to_e164(raw: str) -> None:
    assert normalize_phone(raw, "US") == VALID_US


@pytest.mark.parametrize(
    "raw", ["", "   ", "12345", "555-0143", "abc", "+44 20 7946 0958", "+1 999 555 0143", "1" * 41]
)
def test_r_create_2_invalid_or_foreign_numbers_are_refused_with_the_field(raw: str) -> None:
    with pytest.raises(InvalidPhone) as error:
        normalize_phone(raw, "US", field="cell_phone")
    assert error.value.field == "cell_phone"
    assert error.value.status == 400 and error.value.code == "validation_error"


def test_r_create_2_error_message_does_not_echo_the_number() -> None:
    with pytest.raises(InvalidPhone) as error:
        normalize_phone("+44 20 7946 0958", "US")
    assert "7946" not in error.value.message


@given(
    area=st.sampled_from(["212", "312", "415", "617", "646", "718", "917", "206", "303", "512"]),
    exchange=st.integers(200, 999),
    line=st.integers(0, 9999),
    style=st.sampled_from(["({a}) {e}-{l}", "{a}-{e}-{l}", "{a}{e}{l}", "+1 {a} {e} {l}", "1.{a}.{e}.{l}"]),
)
def test_r_create_2_any_formatting_of_a_valid_number_gives_the_same_e164(
    area: str, exchange: int, line: int, style: str
) -> None:
    expected = f"+1{area}{exchange}{line:04d}"
    if try_normalize_phone(expected) is None:
        return  # not an assigned NANP range: nothing to compare
    raw = style.format(a=area, e=exchange, l=f"{line:04d}")
    assert normalize_phone(raw, "US") == expected


def test_masked_phone_keeps_only_the_last_two_digits() -> None:
    masked = mask_phone(VALID_US)
    assert masked.endswith("43") and "555" not in masked and masked.startswith("+1")
