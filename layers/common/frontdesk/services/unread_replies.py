"""R-HOURS-4: a staff reply the patient has not read within 24 hours is reminded by SMS once a day, at most three
times, inside the 08:00-21:00 window of the practice's time zone (R-SMS-4, through the one send path); a day after
the third, staff get a system message `patient_not_reading`. Reading (or answering) stops it."""

from __future__ import annotations

from datetime import datetime, timedelta

from aws_lambda_powertools import Logger

from frontdesk.adapters.clock import Clock, get_clock
from frontdesk.domain.messages import Posted
from frontdesk.domain.practices import Practice
from frontdesk.errors import Stale
from frontdesk.services import outbound_sms
from frontdesk.services.messages import NewMessage, announce
from frontdesk.store import patients as patients_store
from frontdesk.store import practices as practices_store
from frontdesk.store import waits
from frontdesk.store.office_hours import practice_timezone

logger = Logger(child=True)
UNREAD_AFTER = timedelta(hours=24)
REMINDER_EVERY = timedelta(hours=24)
MAX_REMINDERS = 3
NOT_READING_KIND = "patient_not_reading"


def first_due(reply_at: datetime) -> datetime:
    return reply_at + UNREAD_AFTER


def next_due(due_at: datetime, now: datetime) -> datetime:
    """A day after the reminder was due (not after the run that sent it, so runs' delays do not add up); a day
    from now when that moment has passed already (a reminder held back by the quiet hours)."""
    anchored = due_at + REMINDER_EVERY
    return anchored if anchored > now else now + REMINDER_EVERY


def remind_unread(clock: Clock | None = None) -> dict[str, int]:
    """Reads only the due part of the sparse index (A58). A reminder is claimed (the count moves from the value
    read to the next) before its SMS goes, so two runs send it once; one outside the window stays due."""
    now = (clock or get_clock()).now()
    reminded = told = deferred = skipped = 0
    practices: dict[str, Practice | None] = {}
    timezones: dict[str, str] = {}  # read once per practice per run, for the window check and the send alike
    for reply in waits.due_unread(now):
        ids = {"practice_id": reply.practice_id, "conversation_id": reply.conversation_id}
        conversation = waits.get_conversation_consistent(reply.practice_id, reply.conversation_id)
        if conversation is None:
            skipped += 1
            continue
        if conversation.patient_read_at is not None and conversation.patient_read_at >= reply.reply_at:
            waits.clear_unread(reply.practice_id, reply.conversation_id)  # read; the read's own delete was lost
            skipped += 1
            continue
        if reply.reminders_sent >= MAX_REMINDERS:
            message = NewMessage(
                reply.practice_id,
                reply.conversation_id,
                reply.patient_id,
                "system",
                "system",
                f"The patient has not read the practice's reply after {MAX_REMINDERS} daily reminders.",
                kind=NOT_READING_KIND,
            )
            try:
                waits.finish_unread(reply, Posted(message, now))
            except Stale:
                skipped += 1
                continue
            announce(message, now)  # routing puts it in the team's inbox and notifies, like any system message
            told += 1
            logger.info("patient not reading", extra=ids)
            continue
        if reply.practice_id not in timezones:
            timezones[reply.practice_id] = practice_timezone(reply.practice_id)
        timezone = timezones[reply.practice_id]
        if outbound_sms.may_send_automated(reply.practice_id, now, timezone) is not None:
            deferred += 1  # R-SMS-4: stays due; the first run inside the window sends it
            continue
        patient = patients_store.get_patient(reply.practice_id, reply.patient_id)
        if patient is None or not patient.cell_phone:
            skipped += 1
            continue
        try:
            waits.claim_reminder(reply, next_due(reply.due_at, now))
        except Stale:
            skipped += 1
            continue
        if reply.practice_id not in practices:
            practices[reply.practice_id] = practices_store.get_practice(reply.practice_id)
        practice = practices[reply.practice_id]
        name = practice.name if practice else "Your practice"
        body = f"{name}: you have an unread message from your care team. Open the app to read it."
        result = outbound_sms.send_sms(
            reply.practice_id,
            patient.cell_phone,
            body,
            purpose=outbound_sms.Purpose.UNREAD_REMINDER,
            practice=practice,
            clock=clock,
            timezone=timezone,
        )
        reminded += 1
        logger.info("unread reply reminded", extra={**ids, "number": reply.reminders_sent + 1, "sms": result.status})
    return {"reminded": reminded, "told_staff": told, "deferred": deferred, "skipped": skipped}
