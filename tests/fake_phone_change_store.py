"""An in-memory implementation of services.phone_change.PhoneChangeStore with the DynamoDB one's contract: a request
leaves `pending` exactly once (a second writer raises Stale), a profile changes only under the version read and never
once merged away (Stale), a transaction's writes land all together or not at all. The phone change's rules are proved
by fast unit tests against it; what only DynamoDB can prove (the real conditions, the sparse index, real races) stays
in tests/integration/test_phone_change_store.py."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime

from frontdesk.domain.messages import Posted
from frontdesk.domain.patients import Patient, PatientChange
from frontdesk.domain.phone_change import PhoneRequest
from frontdesk.domain.practices import Practice
from frontdesk.errors import Stale


@dataclass
class FakeRegister:
    """The SMS opt-out register: (practice number, patient number) -> opted out."""

    opted_out: dict[tuple[str, str], bool] = field(default_factory=dict)

    def is_opted_out(self, practice_id: str, practice_number: str, phone: str) -> bool:
        return self.opted_out.get((practice_number, phone), False)

    def record(
        self, practice_id: str, practice_number: str, phone: str, opted_out: bool, at: datetime, source: str
    ) -> bool:
        self.opted_out[(practice_number, phone)] = opted_out
        return True


@dataclass(frozen=True)
class AuditRecord:
    patient_id: str
    actor: str
    action: str
    at: datetime


@dataclass
class FakePhoneChangeStore:
    practice: Practice
    timezone: str = "America/New_York"
    patients: dict[str, Patient] = field(default_factory=dict)  # by patient id (one practice)
    requests: dict[str, PhoneRequest] = field(default_factory=dict)  # by request id
    messages: list[Posted] = field(default_factory=list)
    audits: list[AuditRecord] = field(default_factory=list)
    pairs: set[tuple[str, str, str]] = field(default_factory=set)  # (patient a, patient b, reason), a < b
    register: FakeRegister = field(default_factory=FakeRegister)
    # Runs once, right before the next conditional write: a test's concurrent writer changes the state there.
    before_next_write: Callable[[FakePhoneChangeStore], None] | None = None

    # --- set-up helpers (not part of the protocol) ---

    def add_patient(self, patient: Patient) -> Patient:
        stored = replace(patient, landlines=list(patient.landlines), version=patient.version or 1)
        self.patients[patient.patient_id] = stored
        return stored

    def request(self, request_id: str) -> PhoneRequest:
        return self.requests[request_id]

    # --- reads ---

    def get_practice(self, practice_id: str) -> Practice | None:
        return self.practice if practice_id == self.practice.practice_id else None

    def practice_timezone(self, practice_id: str) -> str:
        return self.timezone

    def get_patient(self, practice_id: str, patient_id: str, *, consistent: bool = False) -> Patient | None:
        patient = self.patients.get(patient_id)
        if patient is None or patient.practice_id != practice_id or patient.merged_into:
            return None
        return replace(patient, landlines=list(patient.landlines))

    def patient_ids_by_phone(self, practice_id: str, e164: str) -> list[tuple[str, str, datetime | None]]:
        """Derived from the profiles, as the PhoneIndex items follow every change (merged-away ones left out)."""
        found: list[tuple[str, str, datetime | None]] = []
        for p in self.patients.values():
            if p.practice_id != practice_id or p.merged_into:
                continue
            if p.cell_phone == e164:
                found.append((p.patient_id, "cell", p.last_active_at))
            if e164 in p.landlines:
                found.append((p.patient_id, "landline", p.last_active_at))
        return found

    def requests_of(self, practice_id: str, patient_id: str) -> list[PhoneRequest]:
        mine = [r for r in self.requests.values() if (r.practice_id, r.patient_id) == (practice_id, patient_id)]
        return sorted(mine, key=lambda r: r.created_at, reverse=True)

    def due_requests(self, now: datetime) -> Iterator[PhoneRequest]:
        due = [r for r in self.requests.values() if r.status == "pending" and r.expires_at <= now]
        yield from sorted(due, key=lambda r: r.expires_at)

    def requests_expiring_before(self, now: datetime, until: datetime) -> Iterator[PhoneRequest]:
        soon = [
            r
            for r in self.requests.values()
            if r.status == "pending" and now < r.expires_at <= until and not r.reminded
        ]
        yield from sorted(soon, key=lambda r: r.expires_at)

    # --- writes ---

    def record_audit(self, practice_id: str, patient_id: str, actor: str, action: str, at: datetime) -> None:
        self.audits.append(AuditRecord(patient_id, actor, action, at))

    def apply_patient_change(self, change: PatientChange) -> None:
        self._concurrent_writer()
        self._check_profile(change)
        self._write_change(change)

    def create_request(
        self,
        request: PhoneRequest,
        superseded: list[PhoneRequest],
        messages: list[Posted],
        audit: tuple[str, str, datetime],
    ) -> None:
        self._concurrent_writer()
        if request.request_id in self.requests:
            raise Stale("the request exists")
        for older in superseded:
            self._check_pending(older)
        for older in superseded:
            self._leave_pending(older, "superseded")
        self.requests[request.request_id] = replace(request, status="pending", attempts=0, reminded=False)
        self.messages.extend(messages)
        actor, action, at = audit
        self.audits.append(AuditRecord(request.patient_id, actor, action, at))

    def close_request(
        self, request: PhoneRequest, status: str, messages: list[Posted], change: PatientChange | None = None
    ) -> None:
        self._concurrent_writer()
        self._check_pending(request)
        if change is not None:
            self._check_profile(change)
        self._leave_pending(request, status)
        self.messages.extend(messages)
        if change is not None:
            self._write_change(change)

    def count_wrong_code(self, request: PhoneRequest) -> int:
        self._concurrent_writer()
        self._check_pending(request)
        stored = self.requests[request.request_id]
        self.requests[request.request_id] = replace(stored, attempts=stored.attempts + 1)
        return stored.attempts + 1

    def mark_reminded(self, request: PhoneRequest) -> bool:
        self._concurrent_writer()
        stored = self.requests.get(request.request_id)
        if stored is None or stored.status != "pending" or stored.reminded:
            return False
        self.requests[request.request_id] = replace(stored, reminded=True)
        return True

    # --- the conditions ---

    def _concurrent_writer(self) -> None:
        if self.before_next_write is not None:
            hook, self.before_next_write = self.before_next_write, None
            hook(self)

    def _check_pending(self, request: PhoneRequest) -> None:
        stored = self.requests.get(request.request_id)
        if stored is None or stored.status != "pending":
            raise Stale("the request is no longer pending")

    def _leave_pending(self, request: PhoneRequest, status: str) -> None:
        self.requests[request.request_id] = replace(self.requests[request.request_id], status=status)

    def _check_profile(self, change: PatientChange) -> None:
        stored = self.patients.get(change.before.patient_id)
        if stored is None or stored.version != change.before.version or stored.merged_into:
            raise Stale("the profile changed since it was read")

    def _write_change(self, change: PatientChange) -> None:
        after = change.after
        self.patients[after.patient_id] = replace(after, landlines=list(after.landlines), version=after.version + 1)
        self.messages.extend(change.messages)
        for other in change.duplicate_of:
            first, second = sorted((after.patient_id, other))
            self.pairs.add((first, second, "same_cell_phone"))
        if change.audit:
            actor, action = change.audit
            self.audits.append(AuditRecord(after.patient_id, actor, action, change.at))
