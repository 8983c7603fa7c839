"""Merging a profile into another (R-MERGE-1, R-MERGE-2): resumable, nothing lost, atomic as the API sees it.

1. A marker on the source names the target (a second merge of the source elsewhere is refused).
2. Every message of the source conversation is copied into the target's, <= 100 per transaction, under the
   same sort key: a retry rewrites, never duplicates. The source keeps its messages and stays usable.
3. One transaction finalises: source merged_into, numbers moved, index items removed, profiles_merged message.
4. A last copy pass picks up messages that reached the source while steps 2-3 ran.
A failure anywhere before 3 leaves both profiles usable; calling merge again completes it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from frontdesk.adapters.clock import Clock, get_clock
from frontdesk.auth import Principal
from frontdesk.domain import merge as rules
from frontdesk.domain.messages import Posted
from frontdesk.domain.patients import Patient
from frontdesk.errors import Conflict, NotFound, ValidationFailed
from frontdesk.services import sms_consent
from frontdesk.services.identity import concurrent_change, require_patient
from frontdesk.services.messages import NewMessage, announce
from frontdesk.services.patients import actor_of
from frontdesk.store import merges
from frontdesk.store import patients as patient_store


def merge_profiles(
    practice_id: str, target_id: str, source_id: str, caller: Principal, clock: Clock | None = None
) -> Patient:
    now = (clock or get_clock()).now()
    target = require_patient(practice_id, target_id)
    source = patient_store.load_patient(practice_id, source_id)
    if source is not None and source.merged_into == target_id:
        _after_finalize(practice_id, source, target, now)  # a retry of a merge that completed: finish the clean-up
        return target
    if source is None or source.merged_into:
        raise NotFound("No such source patient.")
    _check(target, source, caller.role)
    if merges.merge_target_in_progress(practice_id, target_id) is not None:
        raise Conflict("The target profile is itself being merged into another one.", code="merge_in_progress")
    actor = actor_of(caller)
    merges.start_merge(practice_id, source_id, target_id, now)
    copied = merges.copy_messages(practice_id, source.conversation_id, target.conversation_id)
    # Copying can take a while: finalise against fresh profiles so a concurrent edit (a login, a location
    # update) does not turn into a needless conflict; the versions read here guard the final transaction.
    target = require_patient(practice_id, target_id)
    source = patient_store.load_patient(practice_id, source_id)
    if source is not None and source.merged_into == target_id:
        return target  # a concurrent call of the same merge finished first
    if source is None or source.merged_into:
        raise NotFound("No such source patient.")
    _check(target, source, caller.role)
    plan = rules.plan_merge(target, source)
    message = NewMessage(
        practice_id,
        target.conversation_id,
        target_id,
        "system",
        "system",
        f"Profile {source_id} was merged into this patient: its {copied} messages and its phone numbers moved here.",
        kind="profiles_merged",
    )
    with concurrent_change():
        merges.finalize_merge(
            target,
            plan.target,
            source,
            plan.moved_numbers,
            plan.dropped_numbers,
            [Posted(message, now)],
            actor,
            now,
        )
    _after_finalize(practice_id, source, target, now)
    announce(message, now)
    return replace(plan.target, version=target.version + 1)  # what finalize_merge wrote: no read-back


def _check(target: Patient, source: Patient, role: str) -> None:
    try:
        rules.check_merge(target, source, role)
    except rules.MergeRefused as refused:
        if refused.code == "same_patient":
            raise ValidationFailed("A profile cannot be merged into itself.", field="source_patient_id") from None
        raise Conflict(
            "Both profiles have different cell phones: contact support to merge them.", code=refused.code
        ) from None


def _after_finalize(practice_id: str, source: Patient, target: Patient, now: datetime) -> None:
    """Idempotent clean-up once the source is merged: messages that reached it meanwhile, every inbox listing
    of its conversation, and R-SMS-2's opt-out carried to the kept cell phone."""
    merges.copy_messages(practice_id, source.conversation_id, target.conversation_id)
    merges.remove_listings(practice_id, source.conversation_id)
    kept_cell = target.cell_phone or source.cell_phone  # domain.merge.plan_merge's choice
    sms_consent.carry_opt_out(practice_id, kept_cell, [source.cell_phone, target.cell_phone], now)
