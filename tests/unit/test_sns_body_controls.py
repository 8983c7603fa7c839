"""R-SMS-1 / R-API: an SMS body from End User Messaging's SNS notification loses the control characters a webhook
body is refused for (a refused notification would only be retried, then dead-lettered); newline, CR and tab stay."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from frontdesk.schemas import BODY_PATTERN, strip_body_controls

CONTROLS = [chr(c) for c in [*range(0x00, 0x20), *range(0x7F, 0xA0)]]


@given(st.text(alphabet=st.sampled_from([*CONTROLS, "a", "é", " ", "🙂", "\u2028"]), max_size=60))
def test_r_sms_1_a_stripped_body_is_one_a_webhook_would_accept_and_keeps_everything_else(text: str) -> None:
    # Given any text mixing control characters with ordinary ones
    stripped = strip_body_controls(text)
    # Then the webhook's pattern accepts it, stripping again changes nothing, and no other character was lost
    assert re.fullmatch(BODY_PATTERN, stripped)
    assert strip_body_controls(stripped) == stripped
    kept = [c for c in text if c in "\n\r\t" or c not in CONTROLS]
    assert stripped == "".join(kept)


@given(st.text(max_size=80))
def test_r_sms_1_a_body_the_webhook_accepts_is_not_changed(text: str) -> None:
    # Given a body the webhook accepts as it is, Then stripping leaves it exactly as it was
    if re.fullmatch(BODY_PATTERN, text):
        assert strip_body_controls(text) == text
