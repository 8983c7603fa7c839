"""R-SMS-2: the SMS keywords. A text is a keyword only when the WHOLE text is one, in any case, with spaces and
punctuation around it ignored: "Stop." opts out, "please stop the reminders" is a message for staff."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Keyword(StrEnum):
    STOP = "stop"
    START = "start"
    HELP = "help"


STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"})
START_WORDS = frozenset({"START", "UNSTOP", "YES"})
HELP_WORDS = frozenset({"HELP", "INFO"})


def _is_edge(char: str) -> bool:
    """Whitespace, punctuation and symbols (emoji included) around the word are ignored."""
    return char.isspace() or unicodedata.category(char)[0] in ("P", "S", "Z", "C")


def keyword_of(body: str) -> Keyword | None:
    start, end = 0, len(body)
    while start < end and _is_edge(body[start]):
        start += 1
    while end > start and _is_edge(body[end - 1]):
        end -= 1
    word = body[start:end].upper()
    if word in STOP_WORDS:
        return Keyword.STOP
    if word in START_WORDS:
        return Keyword.START
    if word in HELP_WORDS:
        return Keyword.HELP
    return None


@dataclass(frozen=True)
class OptOutState:
    """What the register holds for one number: opted out or not, as of the keyword (or refusal) sent at changed_at."""

    opted_out: bool
    changed_at: datetime


@dataclass(frozen=True)
class KeywordWrite:
    """A keyword's change of the register, conditioned on the state read before it (None: no item was there)."""

    opted_out: bool
    at: datetime
    read: OptOutState | None
