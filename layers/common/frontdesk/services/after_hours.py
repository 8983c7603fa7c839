"""R-HOURS-2: one automatic reply per conversation per closed period, in the app and, for SMS and voicemail
senders, by SMS through the one send path. Routing is unchanged: the reply is a system message in the conversation,
not a message for the team."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from aws_lambda_powertools import Logger

from frontdesk.domain.messages import Posted
from frontdesk.domain.office_hours import OfficeHours, closed_period_id
from frontdesk.domain.practices import Practice
from frontdesk.services import outbound_sms
from frontdesk.services.messages import NewMessage
from frontdesk.store import waits

logger = Logger(child=True)
AFTER_HOURS_KIND = "after_hours_reply"


@dataclass(frozen=True)
class Inbound:
    practice_id: str
    conversation_id: str
    patient_id: str
    channel: str
    reply_to: str | None  # the sender's number when the reply also goes by SMS (SMS, voicemail from a cell)


# The claim of one closed period's reply and its system message (store/waits.py; a fake in the unit tests).
Claim = Callable[[str, str, str, Posted, datetime, datetime], bool]


def reply_if_closed(
    inbound: Inbound,
    hours: OfficeHours,
    now: datetime,
    practice: Practice | None = None,
    *,
    claim: Claim = waits.claim_after_hours_reply,
) -> bool:
    """Nothing (no request at all) while the practice is open; when closed, one conditional transaction decides
    whether this conversation already had its reply in this closed period. True when this call replied."""
    period = hours.closed_period(now)
    if period is None:
        return False
    text = hours.reply_text()
    message = NewMessage(
        inbound.practice_id,
        inbound.conversation_id,
        inbound.patient_id,
        "system",
        "system",
        text,
        kind=AFTER_HOURS_KIND,
    )
    claimed = claim(
        inbound.practice_id,
        inbound.conversation_id,
        closed_period_id(period),
        Posted(message, now),
        now,
        waits.keep_for(period[1], now),
    )
    ids = {"practice_id": inbound.practice_id, "conversation_id": inbound.conversation_id}
    if not claimed:
        return False
    if inbound.reply_to:
        result = outbound_sms.send_sms(
            inbound.practice_id,
            inbound.reply_to,
            text,
            purpose=outbound_sms.Purpose.AFTER_HOURS_REPLY,
            practice=practice,
        )
        if not result.sent:  # opted out (R-SMS-3): the in-app reply stands, the text is skipped
            logger.info("after-hours SMS not sent", extra={**ids, "status": result.status})
    logger.info("after-hours reply", extra={**ids, "channel": inbound.channel})
    return True
