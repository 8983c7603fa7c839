"""R-SMS-2 (the keyword matcher) and R-SMS-4 (the quiet-hours window), as pure rules."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from frontdesk.domain.quiet_hours import in_window, next_window_start, send_at
from frontdesk.domain.sms_keywords import HELP_WORDS, START_WORDS, STOP_WORDS, Keyword, keyword_of

EXPECTED = {**dict.fromkeys(STOP_WORDS, Keyword.STOP), **dict.fromkeys(START_WORDS, Keyword.START)}
EXPECTED.update(dict.fromkeys(HELP_WORDS, Keyword.HELP))
EDGES = st.text(alphabet=" \t\n.,!?;:-_\"'()*~…¡¿🙂", max_size=6)


def _any_case(word: str, flips: list[bool]) -> str:
    return "".join(c.lower() if flip else c for c, flip in zip(word, flips + [False] * len(word), strict=False))


@given(st.sampled_from(sorted(EXPECTED)), st.lists(st.booleans(), max_size=12), EDGES, EDGES)
def test_r_sms_2_a_keyword_in_any_case_with_spaces_and_punctuation_around_is_a_keyword(
    word: str, flips: list[bool], before: str, after: str
) -> None:
    # Given a keyword in any case, with spaces and punctuation around it
    text = before + _any_case(word, flips) + after
    # Then it is that keyword
    assert keyword_of(text) is EXPECTED[word]


WORDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8)


@given(st.sampled_from(sorted(EXPECTED)), st.lists(WORDS, min_size=1, max_size=4), st.booleans())
def test_r_sms_2_a_sentence_that_merely_contains_a_keyword_is_not_one(
    word: str, others: list[str], keyword_first: bool
) -> None:
    # Given a sentence with the keyword and at least one other word
    words = [word.lower(), *others] if keyword_first else [*others, word.lower()]
    sentence = " ".join(words)
    # Then it is a message for staff, not a keyword
    assert keyword_of(sentence) is None


def test_r_sms_2_examples_from_the_spec() -> None:
    assert keyword_of("Stop.") is Keyword.STOP
    assert keyword_of("  unsubscribe!! ") is Keyword.STOP
    assert keyword_of("OptOut") is Keyword.STOP
    assert keyword_of("please stop the reminders") is None
    assert keyword_of("stop it") is None
    assert keyword_of("st op") is None
    assert keyword_of("Yes") is Keyword.START
    assert keyword_of("info?") is Keyword.HELP
    assert keyword_of("") is None and keyword_of("...") is None
    assert keyword_of("stopp") is None and keyword_of("nonstop") is None


ZONES = st.sampled_from(["America/New_York", "America/Los_Angeles", "Pacific/Honolulu", "Asia/Kolkata", "UTC"])
MOMENTS = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC))


@given(MOMENTS, ZONES)
def test_r_sms_4_an_automated_text_goes_at_the_first_moment_inside_08_to_21_local(now: datetime, zone: str) -> None:
    # Given any moment and a practice time zone
    at = send_at(now, zone)
    local_now, local_at = now.astimezone(ZoneInfo(zone)), at.astimezone(ZoneInfo(zone))
    inside = time(8) <= local_now.time() < time(21)
    # Then inside the window it goes at once; outside, at the next 08:00 local, within a day
    assert in_window(now, zone) is inside
    if inside:
        assert at == now
    else:
        assert local_at.time() == time(8) and now < at <= now + timedelta(hours=11, minutes=1)
        assert in_window(at, zone)
        assert not in_window(at - timedelta(minutes=1), zone)


def test_r_sms_4_examples_in_new_york_with_dst() -> None:
    zone = "America/New_York"
    # 20:59 EDT may send; 21:00 may not; the next window is 08:00 EDT (12:00 UTC) the next day
    assert in_window(datetime(2026, 7, 1, 0, 59, tzinfo=UTC), zone)
    assert not in_window(datetime(2026, 7, 1, 1, 0, tzinfo=UTC), zone)
    assert next_window_start(datetime(2026, 7, 1, 1, 0, tzinfo=UTC), zone) == datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    # Across the spring-forward night (8 March 2026): 08:00 EDT is 12:00 UTC, not 13:00
    assert next_window_start(datetime(2026, 3, 8, 3, 0, tzinfo=UTC), zone) == datetime(2026, 3, 8, 12, 0, tzinfo=UTC)
    # Early morning 06:00 EST waits for 08:00 the same day
    assert send_at(datetime(2026, 1, 5, 11, 0, tzinfo=UTC), zone) == datetime(2026, 1, 5, 13, 0, tzinfo=UTC)
