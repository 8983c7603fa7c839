"""The audit trail of a patient (R-SEC-2): one item per action, written alone or inside the change it records."""

from __future__ import annotations

from datetime import datetime

from pynamodb.attributes import UnicodeAttribute, UTCDateTimeAttribute

from frontdesk.adapters.clock import iso
from frontdesk.domain.audit import AuditEntry
from frontdesk.ids import new_id
from frontdesk.store import keys
from frontdesk.store.base import TableItem


class AuditItem(TableItem, discriminator="Audit"):
    practice_id = UnicodeAttribute()
    patient_id = UnicodeAttribute()
    actor = UnicodeAttribute()
    action = UnicodeAttribute()
    at = UTCDateTimeAttribute()

    @staticmethod
    def key(practice_id: str, patient_id: str, at_iso: str, audit_id: str) -> tuple[str, str]:
        return keys.patient_pk(practice_id, patient_id), f"AUDIT#{at_iso}#{audit_id}"


def audit_item(practice_id: str, patient_id: str, actor: str, action: str, at: datetime) -> AuditItem:
    """For a transaction that records its own action."""
    pk, sk = AuditItem.key(practice_id, patient_id, iso(at), new_id())
    return AuditItem(pk, sk, practice_id=practice_id, patient_id=patient_id, actor=actor, action=action, at=at)


def record_audit(practice_id: str, patient_id: str, actor: str, action: str, at: datetime) -> None:
    audit_item(practice_id, patient_id, actor, action, at).save()


def list_audit(
    practice_id: str, patient_id: str, limit: int, start_key: dict | None
) -> tuple[list[AuditEntry], dict | None]:
    """Newest first (A12)."""
    result = AuditItem.query(
        keys.patient_pk(practice_id, patient_id),
        AuditItem.sk.startswith("AUDIT#"),
        scan_index_forward=False,
        limit=limit,
        last_evaluated_key=start_key,
    )
    entries = [AuditEntry(actor=i.actor, action=i.action, at=i.at) for i in result]
    return entries, result.last_evaluated_key
