"""Imports side by side (parallel chunks, two uploads of one export): an external id never gets two patients
(R-IMPORT-2). The interleavings are forced, not hoped for: each test stops one import at the point where the race
happens and lets the other writer run there."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest

from tests.conftest import IMPORTS_BUCKET
from tests.integration.test_import_service import HEADER, gateway, items_of, job, new_practice, types_of, upload

pytestmark = pytest.mark.integration
__all__ = ["gateway"]  # the module-scoped runner gateway, shared with test_import_service

ROWS = "Ana,Diaz,1980-04-02,(212) 555-0101,,A-1,\nBob,Ray,1975-05-06,,,B-2,\n"


def profiles(practice: str) -> list[dict[str, Any]]:
    return [item for item in items_of(practice) if item["type"]["S"] == "Patient"]


def after_the_first_look_up(monkeypatch: Any, other_writer: Any) -> list[bool]:
    """Runs other_writer() once, right after the next import's first block looked up its rows and before it writes
    them: the race, forced. The list it returns holds True once it ran."""
    from frontdesk.services.imports import engine

    real_lookup = engine._lookup
    ran: list[bool] = []

    def lookup_then_other_writer(job_: Any, rows: list[Any]) -> Any:
        found = real_lookup(job_, rows)
        if not ran:
            ran.append(True)
            other_writer()
        return found

    monkeypatch.setattr(engine, "_lookup", lookup_then_other_writer)
    return ran


def test_r_import_2_an_upload_that_looked_up_before_another_created_the_patients_updates_them(gateway, monkeypatch):
    practice = new_practice()
    # Given another upload of the same export that runs whole between this import's look-up and its writes
    interleaved = after_the_first_look_up(monkeypatch, lambda: upload(gateway, practice, HEADER + ROWS, "copy.csv"))
    # When this import writes rows its look-up said were new
    second = job(practice, upload(gateway, practice, HEADER + ROWS.replace("B-2,", "B-2,bob@example.org"), "mon.csv"))
    # Then its claims lost to the patients just created, and it updated them instead of creating two more
    assert interleaved
    assert (second.counts.created, second.counts.updated, second.counts.duplicates) == (0, 2, 0)
    stored = profiles(practice)
    assert len(stored) == 2
    assert types_of(practice)["ExternalId"] == 2
    bob = next(p for p in stored if p["first_name"]["S"] == "Bob")
    assert bob["email"]["S"] == "bob@example.org"


def import_beside(s3: Any, practice: str, body: str, name: str) -> str:
    """An import run by another execution environment, beside the runner's one (which takes one at a time)."""
    from frontdesk.domain.import_jobs import S3Object
    from frontdesk.services.imports import start

    key, raw = f"imports/{practice}/{name}", body.encode()
    etag = s3.put_object(Bucket=IMPORTS_BUCKET, Key=key, Body=raw)["ETag"].strip('"')
    import_id = start.start_import(S3Object(bucket=IMPORTS_BUCKET, key=key, size=len(raw), etag=etag))
    assert import_id is not None
    return import_id


def test_r_import_2_a_row_waits_for_the_profile_of_a_claim_another_import_is_still_writing(gateway, s3, monkeypatch):
    import time

    from frontdesk.store import batch as job_store

    practice = new_practice()
    real_write = job_store._write_batch
    claimed = threading.Event()

    def slow_profiles(put_items: list[dict[str, Any]]) -> int:
        if any(item["type"]["S"] == "Patient" for item in put_items):
            claimed.set()
            time.sleep(1.5)  # the first import has claimed A-1 and B-2; its profiles are not stored yet
        return int(real_write(put_items))

    monkeypatch.setattr(job_store, "_write_batch", slow_profiles)
    # Given an import that has claimed the external ids and is still writing its profiles
    first = threading.Thread(target=upload, args=(gateway, practice, HEADER + ROWS, "first.csv"))
    first.start()
    assert claimed.wait(30)
    assert types_of(practice)["ExternalId"] == 2
    # When a second upload with the same patients arrives meanwhile
    changed = ROWS.replace("A-1,", "A-1,ana@example.org")
    second = job(practice, import_beside(s3, practice, HEADER + changed, "second.csv"))
    first.join(60)
    # Then its rows waited for those profiles and updated them (no "not_updated_missing", no second patient)
    assert (second.counts.created, second.counts.updated) == (0, 2)
    assert second.counts.warnings == 1  # Bob's missing cell phone, as in the first file
    stored = profiles(practice)
    assert len(stored) == 2
    assert next(p for p in stored if p["first_name"]["S"] == "Ana")["email"]["S"] == "ana@example.org"


def test_r_import_2_a_claim_left_by_a_writer_that_stopped_long_ago_is_reported_without_waiting(gateway, monkeypatch):
    from frontdesk.adapters.clock import get_clock
    from frontdesk.services.imports import waiting
    from frontdesk.store.patients import external_id_claim_item

    practice = new_practice()
    # Given a claim of A-1 an hour old whose profile was never written (its import died and was not retried)
    external_id_claim_item(practice, "A-1", "gone-patient", get_clock().now() - timedelta(hours=1)).save()

    def no_waiting(seconds: float) -> None:
        raise AssertionError(f"waited {seconds}s for a writer that stopped long ago")

    monkeypatch.setattr(waiting, "sleep", no_waiting)
    # When a file with A-1 is imported
    done = job(practice, upload(gateway, practice, HEADER + ROWS, "after-crash.csv"))
    # Then the row is reported (not lost silently, not waited for) and the rest of the file imports
    assert (done.counts.created, done.counts.updated) == (1, 1)
    from frontdesk.services.imports.reads import get_import

    _, errors = get_import(practice, done.import_id)
    assert [(e.row, e.code) for e in errors if e.field == "external_id"] == [(2, "not_updated_missing")]


def test_r_import_2_writers_claiming_the_same_external_ids_at_once_each_id_gets_one_patient(gateway):
    from concurrent.futures import ThreadPoolExecutor

    from frontdesk.adapters.clock import get_clock
    from frontdesk.store.patients import claim_external_ids, external_id_claim

    practice, now = new_practice(), get_clock().now()
    ids = [f"MRN-{n}" for n in range(60)]
    writers = [f"writer{w}" for w in range(6)]

    def claim(writer: str) -> dict[str, str]:
        return claim_external_ids(practice, {ext: f"{writer}-{ext}" for ext in ids}, now)

    # When six writers claim the same 60 external ids at the same moment (transactions conflicting)
    with ThreadPoolExecutor(max_workers=len(writers)) as pool:
        lost = dict(zip(writers, pool.map(claim, writers), strict=True))
    # Then each id is held by exactly one writer's patient, and every other writer was told which one
    for ext in ids:
        holder = external_id_claim(practice, ext, consistent=True)
        assert holder is not None
        winners = [w for w in writers if ext not in lost[w]]
        assert winners == [holder[0].removesuffix(f"-{ext}")]
        assert all(lost[w][ext] == holder[0] for w in writers if w not in winners)
    # And a writer claiming again what it holds (a retry) keeps it
    winner = holder[0].removesuffix(f"-{ids[-1]}")
    assert claim_external_ids(practice, {ids[-1]: holder[0]}, now) == {}
    assert winner in writers


def test_r_import_4_a_probable_duplicate_created_by_another_upload_meanwhile_is_still_flagged(gateway, monkeypatch):
    from frontdesk.services.imports.reads import list_duplicates

    practice = new_practice()
    # Given another upload that creates the same person (other record number) between this import's look-up (no
    # IndexHead yet: nothing to query) and its writes
    other = HEADER + "Ana,Diaz,1980-04-02,(212) 555-0101,,B-77,\n"
    interleaved = after_the_first_look_up(monkeypatch, lambda: upload(gateway, practice, other, "clinic-b.csv"))
    # When this import creates Ana under its own record number
    done = job(practice, upload(gateway, practice, HEADER + "Ana,Diaz,1980-04-02,(212) 555-0101,,A-1,\n", "a.csv"))
    # Then it found her head taken, queried, and flagged the pair (both reasons: same name+DOB, same cell phone)
    assert interleaved
    assert (done.counts.created, done.counts.duplicates) == (1, 1)
    pairs, _ = list_duplicates(practice, 10, None)
    assert len(pairs) == 1
    assert len(profiles(practice)) == 2
    assert set(pairs[0].patient_ids) == {p["patient_id"]["S"] for p in profiles(practice)}


def test_r_import_4_a_block_written_while_another_import_is_at_work_queries_again_after_its_writes(
    gateway, monkeypatch
):
    from frontdesk.adapters.clock import get_clock
    from frontdesk.domain.patients import Patient
    from frontdesk.store import imports as job_store
    from frontdesk.store.patients import create_patient

    practice = new_practice()
    # Given another import at work for the practice since before this one (registered, not finished)
    now = get_clock().now()
    other = job_store.register_writer(practice, "other-import#1", now, now - timedelta(minutes=30))

    def store_ana() -> None:
        # ...whose Ana is stored between this import's look-up and its writes (no arrival, no departure)
        ana = Patient(practice, "other-ana", "Ana", "Diaz", date(1980, 4, 2), "conv-other-ana", get_clock().now())
        create_patient(replace(ana, cell_phone="+12125550101"), actor="other-import", duplicates=[])

    after_the_first_look_up(monkeypatch, store_ana)
    done = job(practice, upload(gateway, practice, HEADER + "Ana,Diaz,1980-04-02,(212) 555-0101,,A-1,\n", "a.csv"))
    job_store.unregister_writer(practice, other)
    # Then, a writer being present, the block queried its partitions after its writes and flagged Ana
    assert (done.counts.created, done.counts.duplicates) == (1, 1)
    assert len(profiles(practice)) == 2


def test_r_import_4_an_import_leaves_the_writers_registry_as_it_found_it_even_when_unregistering_fails(
    gateway, monkeypatch
):
    from frontdesk.store import imports as job_store

    practice = new_practice()
    # When an import runs to its end
    done = job(practice, upload(gateway, practice, HEADER + ROWS, "one.csv"))
    # Then it registered and left (two changes, nobody present)
    assert done.status == "completed"
    after = job_store.writers(practice)
    assert (after.changes, after.present) == (2, frozenset())

    # And when leaving fails (DynamoDB unavailable at that moment), the import itself still completes
    def unavailable(practice_id: str, entry: str) -> None:
        raise RuntimeError("DynamoDB unavailable")

    monkeypatch.setattr(job_store, "unregister_writer", unavailable)
    again = job(practice, upload(gateway, practice, HEADER + ROWS.replace("B-2,", "B-2,b@example.org"), "two.csv"))
    assert (again.status, again.counts.updated) == ("completed", 2)
    assert len(job_store.writers(practice).present) == 1  # left behind: ignored after WRITER_LIFETIME


def test_r_import_4_a_writer_that_died_long_ago_is_removed_when_the_next_import_starts(gateway):
    from frontdesk.adapters.clock import get_clock
    from frontdesk.store import imports as job_store

    practice, now = new_practice(), get_clock().now()
    # Given an import writer registered two hours ago that never left (its Lambda was stopped)
    job_store.register_writer(practice, "dead-import#4", now - timedelta(hours=2), now - timedelta(hours=3))
    # When an import runs
    done = job(practice, upload(gateway, practice, HEADER + ROWS, "later.csv"))
    # Then the dead entry is gone with the import's own
    assert done.status == "completed"
    assert job_store.writers(practice).present == frozenset()


def test_r_import_2_chunks_processed_in_parallel_give_each_record_number_one_patient(gateway, s3):
    """AWS's fan-out: the chunks of one file run at the same time (here on six threads, in whatever order the
    scheduler picks). Which of two rows with one record number creates the patient may change; that exactly one
    does may not."""
    from collections import Counter
    from concurrent.futures import ThreadPoolExecutor

    from frontdesk.domain.import_jobs import S3Object
    from frontdesk.services.imports import engine, start
    from tests.integration.test_import_service import messy_csv

    body = messy_csv(300, seed=11).encode()

    def run(chunk_bytes: int, parallel: bool) -> tuple[Any, str]:
        practice = new_practice()
        key = f"imports/{practice}/big.csv"
        etag = s3.put_object(Bucket=IMPORTS_BUCKET, Key=key, Body=body)["ETag"].strip('"')
        tasks: list[Any] = []
        obj = S3Object(IMPORTS_BUCKET, key, len(body), etag)
        import_id = start.start_import(obj, chunk_bytes=chunk_bytes, send_chunk=tasks.append if parallel else None)
        if parallel:
            with ThreadPoolExecutor(max_workers=6) as pool:
                list(pool.map(engine.process_chunk, tasks))
        return job(practice, str(import_id)), practice

    whole, _ = run(10 * len(body), parallel=False)
    chunked, practice = run(1500, parallel=True)
    assert chunked.chunks_total > 10 and chunked.status == "completed"
    same = ("rows_read", "created", "updated", "rejected", "warnings")
    assert {name: getattr(chunked.counts, name) for name in same} == {
        name: getattr(whole.counts, name) for name in same
    }
    stored = profiles(practice)
    assert len(stored) == whole.counts.created
    per_record = Counter(p["external_id"]["S"] for p in stored if "external_id" in p)
    assert per_record and max(per_record.values()) == 1
    assert types_of(practice)["ExternalId"] == len(per_record)
    assert chunked.counts.duplicates >= 1


def test_r_import_2_a_block_waits_in_vain_at_most_once_for_a_writer_that_just_stopped(gateway, monkeypatch):
    from frontdesk.adapters.clock import get_clock
    from frontdesk.services.imports import waiting
    from frontdesk.store.patients import external_id_claim_item

    practice, now = new_practice(), get_clock().now()
    # Given three claims made seconds ago by an import that then stopped (its profiles will not come)
    for mrn in ("M-1", "M-2", "M-3"):
        external_id_claim_item(practice, mrn, f"stopped-{mrn}", now).save()
    pauses: list[float] = []
    monkeypatch.setattr(waiting, "sleep", pauses.append)
    # When a file with those three record numbers is imported
    rows = "".join(f"Pat{n},Lee,1970-01-0{n},,,M-{n},\n" for n in (1, 2, 3))
    done = job(practice, upload(gateway, practice, HEADER + rows, "after-stop.csv"))
    # Then the first row waited for its profile, in vain, and the block did not wait again for the others
    assert len(pauses) == waiting.PROFILE_WAITS
    from frontdesk.services.imports.reads import get_import

    _, errors = get_import(practice, done.import_id)
    assert sorted(e.row for e in errors if e.code == "not_updated_missing") == [2, 3, 4]
