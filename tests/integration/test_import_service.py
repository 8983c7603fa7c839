"""CSV imports against DynamoDB Local and moto S3, through the real Lambda handlers (R-IMPORT-1..5, R-CREATE-4)."""

from __future__ import annotations

import csv
import io
import random
from collections import Counter
from typing import Any

import pytest

from tests.conftest import IMPORTS_BUCKET, TABLE_NAME

pytestmark = pytest.mark.integration

HEADER = "First Name,Last Name,DOB,Mobile,Home Phone,MRN,Email\n"


@pytest.fixture(scope="module")
def gateway(dynamodb: str, s3: Any) -> Any:
    """The runner's gateway in-process: S3 events and the chunk queue delivered to the real handlers."""
    from infra.local.server import Gateway
    from infra.template import wiring

    return Gateway(wiring(), IMPORTS_BUCKET, s3)


def new_practice() -> str:
    from frontdesk.services.practices import create_practice
    from tests.support import unique_phone

    return create_practice("Import Practice", "US", unique_phone(), False).practice_id


def upload(gateway: Any, practice_id: str, body: bytes | str, name: str = "patients.csv") -> str:
    raw = body.encode() if isinstance(body, str) else body
    answer = gateway.put_object(IMPORTS_BUCKET, f"imports/{practice_id}/{name}", raw)[1]
    return str(answer["import_id"])


def job(practice_id: str, import_id: str) -> Any:
    from frontdesk.store.imports import get_job

    found = get_job(practice_id, import_id, consistent=True)
    assert found is not None
    return found


def items_of(practice_id: str) -> list[dict[str, Any]]:
    """Every item of the practice (a Scan: tests only)."""
    from frontdesk.settings import get_settings
    from infra.local.dynamodb import client

    ddb = client(get_settings().dynamodb_endpoint)
    found: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {
        "TableName": TABLE_NAME,
        "FilterExpression": "begins_with(pk, :p)",
        "ExpressionAttributeValues": {":p": {"S": f"PRACTICE#{practice_id}"}},
    }
    while True:
        page = ddb.scan(**kwargs)
        found += page["Items"]
        if "LastEvaluatedKey" not in page:
            return found
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def types_of(practice_id: str) -> Counter[str]:
    return Counter(item["type"]["S"] for item in items_of(practice_id))


def report(s3: Any, key: str) -> list[list[str]]:
    body = s3.get_object(Bucket=IMPORTS_BUCKET, Key=key)["Body"].read().decode()
    return list(csv.reader(io.StringIO(body)))


def test_r_import_1_rows_become_profiles_with_exactly_the_items_a_manual_create_writes(gateway):
    # Given a practice with a manually created patient, and another practice importing the same person
    from frontdesk.auth import Principal
    from frontdesk.services.patients import NewPatient, create_patient

    manual = new_practice()
    staff = Principal(sub="s", role="admin", practice_id=manual, staff_id="s")
    create_patient(
        manual,
        NewPatient("Ana", "Diaz", "1980-04-02", "(212) 555-0101", "212-555-0199", "ana@example.org", "A-1"),
        staff,
    )
    imported = new_practice()
    # When the CSV is imported
    row = "Ana,Diaz,04/02/1980,(212) 555-0101,212-555-0199,A-1,ana@example.org\n"
    import_id = upload(gateway, imported, HEADER + row)
    # Then the job completed with one created row, and the items are the same kinds and numbers
    done = job(imported, import_id)
    assert (done.status, done.counts.rows_read, done.counts.created, done.counts.rejected) == ("completed", 1, 1, 0)
    expected = types_of(manual) - Counter({"Practice": 1, "NumberClaim": 1})
    job_items = Counter({"Practice": 1, "ImportJob": 1, "ImportChunk": 2, "ImportWriters": 1})
    assert types_of(imported) - job_items == expected
    profile = next(i for i in items_of(imported) if i["type"]["S"] == "Patient")
    assert profile["cell_phone"]["S"] == "+12125550101"
    assert profile["version"]["N"] == "1"
    assert profile["external_id"]["S"] == "A-1"


def test_r_import_1_bad_rows_are_rejected_and_nothing_else_is_lost(gateway, s3):
    practice = new_practice()
    rows = [
        "Ana,Diaz,1980-04-02,,,,",  # 2: no cell phone -> created with a warning
        "Bob,Ray,1975-05-06,not-a-phone,,,",  # 3: invalid cell -> created with a warning
        ",Nofirst,1990-01-01,(212) 555-0102,,,",  # 4: no first name -> rejected
        "Cat,Lee,1990-02-30,(212) 555-0103,,,",  # 5: impossible DOB -> rejected
        "Dan,Kim,1991-03-04,(212) 555-0104,,,",  # 6: fine
    ]
    import_id = upload(gateway, practice, HEADER + "\n".join(rows) + "\n")
    done = job(practice, import_id)
    counts = done.counts
    assert (counts.rows_read, counts.created, counts.rejected, counts.warnings) == (5, 3, 2, 2)
    assert types_of(practice)["Patient"] == 3
    lines = report(s3, done.report_key)
    assert lines[0] == ["row", "field", "code", "message"]
    assert [(r[0], r[1], r[2]) for r in lines[1:]] == [
        ("2", "cell_phone", "missing_cell_phone"),
        ("3", "cell_phone", "invalid_cell_phone"),
        ("4", "first_name", "missing_name"),
        ("5", "date_of_birth", "invalid_date_of_birth"),
    ]


def test_r_import_2_a_redelivered_s3_event_is_the_same_job_and_changes_nothing(gateway, s3):
    from infra.local import events
    from infra.local.functions import invoke

    practice = new_practice()
    body = (HEADER + "Ana,Diaz,1980-04-02,(212) 555-0101,,,\nBob,Ray,1975-05-06,,,,\n").encode()
    key = f"imports/{practice}/twice.csv"
    etag = s3.put_object(Bucket=IMPORTS_BUCKET, Key=key, Body=body)["ETag"].strip('"')
    handler = gateway.wiring.functions["CsvImportFunction"]
    # When S3 delivers the same event twice (its key URL-encoded, as S3 does)
    first = invoke(handler, events.s3_put_event(IMPORTS_BUCKET, key, len(body), etag))
    before = items_of(practice)
    second = invoke(handler, events.s3_put_event(IMPORTS_BUCKET, key, len(body), etag))
    # Then it is one job, and the second delivery wrote nothing
    assert first["import_id"] == second["import_id"]
    assert sorted(map(str, items_of(practice))) == sorted(map(str, before))
    assert job(practice, first["import_id"]).counts.created == 2


def test_r_import_2_same_rows_under_a_new_key_update_patients_with_external_ids(gateway):
    practice = new_practice()
    rows = "Ana,Diaz,1980-04-02,(212) 555-0101,,A-1,\nBob,Ray,1975-05-06,,,B-2,\n"
    upload(gateway, practice, HEADER + rows, "monday.csv")
    # When the same people arrive again (one with a new email) under another key
    changed = rows.replace("A-1,", "A-1,ana@example.org")
    second = job(practice, upload(gateway, practice, HEADER + changed, "tuesday.csv"))
    # Then they are updated, not duplicated
    assert (second.counts.created, second.counts.updated, second.counts.duplicates) == (0, 2, 0)
    profiles = [i for i in items_of(practice) if i["type"]["S"] == "Patient"]
    assert len(profiles) == 2
    ana = next(p for p in profiles if p["first_name"]["S"] == "Ana")
    assert ana["email"]["S"] == "ana@example.org"
    assert ana["version"]["N"] == "2"  # a versioned write, never a batch overwrite
    assert types_of(practice)["ExternalId"] == 2


def test_r_import_4_probable_duplicates_are_created_flagged_and_listed(gateway, s3):
    from frontdesk.store.patients import list_duplicates

    practice = new_practice()
    upload(gateway, practice, HEADER + "Ana,Diaz,1980-04-02,(212) 555-0101,,A-1,\n", "first.csv")
    rows = (
        "ana,DIAZ,04/02/1980,,,A-9,\n"  # same name + DOB, other external id
        "Eve,Ray,1970-01-01,(212) 555-0101,,,\n"  # same cell phone (a family)
        "Zoe,Lin,1999-09-09,(212) 555-0177,,,\n"  # nobody
        "Zoe,Lin,1999-09-09,,,,\n"  # same name + DOB as the row above (in the same file)
    )
    done = job(practice, upload(gateway, practice, HEADER + rows, "second.csv"))
    assert (done.counts.created, done.counts.duplicates) == (4, 3)
    pairs, _ = list_duplicates(practice, 50, None)
    assert sorted(p.reason for p in pairs) == ["same_cell_phone", "same_name_and_dob", "same_name_and_dob"]
    flagged = [line for line in report(s3, done.report_key) if line[2] == "probable_duplicate"]
    assert [line[0] for line in flagged] == ["2", "3", "5"]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"", "empty_file"),
        (b"\n\n", "empty_file"),
        (HEADER.encode(), "no_rows"),
        (HEADER.strip().encode(), "no_rows"),
        (b"Name,Phone\nAna,2125550101\n", "missing_columns"),
        (b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00" + bytes(range(256)) * 8, "not_csv"),
        (b'{"patients": [{"name": "Ana"}]}', "no_header"),
        (b"First Name;Last Name;DOB\nAna;Diaz;02/04/1980\n", "no_header"),
    ],
    ids=["empty", "blank-lines", "header-only", "header-no-newline", "missing-columns", "binary", "json", "semicolons"],
)
def test_r_import_5_an_unusable_file_fails_the_job_clearly_and_writes_no_patient(gateway, body, code):
    practice = new_practice()
    done = job(practice, upload(gateway, practice, body))
    assert done.status == "failed"
    assert done.error_code == code
    assert done.error and len(done.error) > 10
    assert ("separated by semicolons" in done.error) == body.startswith(b"First Name;")
    assert types_of(practice)["Patient"] == 0


def test_r_import_3_report_beside_the_upload_neutralises_formulas(gateway, s3):
    practice = new_practice()
    body = "First Name,Last Name,DOB,\"=cmd|' /C calc'!A0\"\nAna,Diaz,1980-04-02,x\n"
    done = job(practice, upload(gateway, practice, body, "sheet.csv"))
    assert done.report_key.startswith(f"import-reports/{practice}/sheet.")
    lines = report(s3, done.report_key)
    assert ["1", "'=cmd|' /C calc'!A0", "unknown_column", "This column is not imported."] in lines
    assert all(not cell.startswith(("=", "+", "-", "@")) for line in lines for cell in line)


def test_r_import_5_utf8_bom_and_windows_1252_files_import_the_same_names(gateway):
    for encoded in (
        ("\ufeff" + HEADER + "José,Müller,1980-04-02,,,,\n").encode(),
        (HEADER + "José,Müller,1980-04-02,,,,\n").encode("cp1252"),
    ):
        practice = new_practice()
        done = job(practice, upload(gateway, practice, encoded))
        assert done.counts.created == 1
        profile = next(i for i in items_of(practice) if i["type"]["S"] == "Patient")
        assert (profile["first_name"]["S"], profile["last_name"]["S"]) == ("José", "Müller")


def messy_csv(rows: int, seed: int = 7) -> str:
    """Rows with quoted commas and newlines, bad rows, repeated external ids and duplicates."""
    rng = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["First Name", "Last Name", "DOB", "Cell", "MRN", "Notes"])
    for n in range(rows):
        kind = rng.random()
        first, last = rng.choice(["Ana", "Bob", "Cy"]), f"Family{rng.randint(0, rows // 3)}"
        dob = f"19{rng.randint(50, 99)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}"
        cell = f"(212) 555-{rng.randint(100, 199):04d}" if kind < 0.7 else ""
        mrn = f"M{rng.randint(0, rows)}" if kind < 0.5 else ""
        if kind > 0.93:
            dob = "31/31/1999"
        if 0.9 < kind <= 0.93:
            first = ""
        writer.writerow([first, last, dob, cell, mrn, f"note, with comma\nand newline {n}"])
        if n % 50 == 0:
            out.write("\r\n")  # a blank line now and then
    return out.getvalue()


def test_r_import_5_a_chunked_import_counts_exactly_what_an_unchunked_one_does(gateway, s3):
    from frontdesk.domain.import_jobs import S3Object
    from frontdesk.services.imports import start

    body = messy_csv(300).encode()

    def run(chunk_bytes: int) -> tuple[Any, list[list[str]], int]:
        practice = new_practice()
        key = f"imports/{practice}/big.csv"
        etag = s3.put_object(Bucket=IMPORTS_BUCKET, Key=key, Body=body)["ETag"].strip('"')
        obj = S3Object(IMPORTS_BUCKET, key, len(body), etag)
        # The default sender: the chunk queue, delivered to ImportChunkWorkerFunction like the runner does.
        done = job(practice, start.start_import(obj, chunk_bytes=chunk_bytes))
        lines = list(report(s3, done.report_key))
        return done, lines, types_of(practice)["Patient"]

    whole, whole_report, whole_patients = run(10 * len(body))
    chunked, chunked_report, chunked_patients = run(1500)
    assert whole.chunks_total == 2 and chunked.chunks_total > 10
    assert chunked.status == whole.status == "completed"
    assert chunked.counts == whole.counts
    assert whole.counts.rows_read == 300 and whole.counts.rejected > 0 and whole.counts.updated > 0
    assert whole.counts.duplicates > 0
    # Same row numbers, same findings, in the same order
    assert [line[:3] for line in chunked_report] == [line[:3] for line in whole_report]
    assert chunked_patients == whole_patients


def test_r_import_2_an_import_retried_after_a_crash_changes_nothing_it_already_did(gateway, s3, monkeypatch):
    from frontdesk.store import imports as job_store
    from infra.local import events
    from infra.local.functions import invoke

    body = messy_csv(120, seed=3).encode()
    reference = new_practice()
    expected = job(reference, upload(gateway, reference, body))

    practice = new_practice()
    key = f"imports/{practice}/crash.csv"
    etag = s3.put_object(Bucket=IMPORTS_BUCKET, Key=key, Body=body)["ETag"].strip('"')
    event = events.s3_put_event(IMPORTS_BUCKET, key, len(body), etag)
    handler = gateway.wiring.functions["CsvImportFunction"]
    real_complete = job_store.complete_chunk

    def crash_on_data_chunks(practice_id: str, import_id: str, chunk: int, *args: Any) -> bool:
        if chunk:
            raise RuntimeError("the function died before recording its chunk")
        return real_complete(practice_id, import_id, chunk, *args)

    # Given an invocation that wrote every row, then died before recording its work
    monkeypatch.setattr(job_store, "complete_chunk", crash_on_data_chunks)
    with pytest.raises(RuntimeError):
        invoke(handler, event)
    written = types_of(practice)
    assert written["Patient"] == expected.counts.created
    monkeypatch.setattr(job_store, "complete_chunk", real_complete)
    # When Lambda retries the event
    import_id = invoke(handler, event)["import_id"]
    # Then no row was written twice and the counts are those of an import that never crashed
    again = types_of(practice)
    assert again["Patient"] == written["Patient"]
    assert again["ImportError"] == written["ImportError"]
    done = job(practice, import_id)
    assert done.status == "completed"
    assert done.counts == expected.counts


def test_r_rel_2_an_import_update_does_not_lose_a_concurrent_change(gateway, monkeypatch):
    from frontdesk.services.imports import waiting
    from frontdesk.store import patients as patients_store

    practice = new_practice()
    upload(gateway, practice, HEADER + "Ana,Diaz,1980-04-02,(212) 555-0101,,A-1,\n", "first.csv")
    real_get = patients_store.get_patient
    reads: list[int] = []

    def stale_read(practice_id: str, patient_id: str, *, consistent: bool = False) -> Any:
        # Given another writer that changes the profile right after the importer read it
        snapshot = real_get(practice_id, patient_id, consistent=consistent)
        if not reads:
            from frontdesk.store.patients import PatientItem

            item = PatientItem.get(*PatientItem.key(practice_id, patient_id), consistent_read=True)
            item.location = "Manhattan"
            item.save()  # versioned: version 1 -> 2
        reads.append(1)
        return snapshot

    monkeypatch.setattr(waiting.patients_store, "get_patient", stale_read)
    # When the importer updates the same patient from a new file
    done = job(practice, upload(gateway, practice, HEADER + "Ana,Diaz,1980-04-02,,,A-1,ana@example.org\n", "2.csv"))
    # Then its first write was refused (stale version), it re-read, and both changes survive
    assert done.counts.updated == 1
    assert len(reads) == 2
    profile = real_get(practice, next(i for i in items_of(practice) if i["type"]["S"] == "Patient")["patient_id"]["S"])
    assert profile is not None
    assert (profile.location, profile.email, profile.version) == ("Manhattan", "ana@example.org", 3)


def test_r_import_2_a_row_updating_a_patient_of_the_previous_block_waits_for_its_profile(gateway, monkeypatch):
    """The next block is read while the last block's profiles are still being written: a row that updates one of
    them must find it (an update, not 'the matching profile is gone')."""
    import time

    from frontdesk.services.imports import engine
    from frontdesk.store import batch as job_store

    real_write = job_store._write_batch

    def slow_profiles(put_items: list[dict[str, Any]]) -> int:
        if any(item["type"]["S"] == "Patient" for item in put_items):
            time.sleep(1.0)  # profiles still in flight when the next block starts
        return int(real_write(put_items))

    monkeypatch.setattr(job_store, "_write_batch", slow_profiles)
    practice = new_practice()
    filler = [f"Name{n},Block,1970-01-01,,,,\n" for n in range(engine.BLOCK_ROWS - 1)]
    last_of_block = "Ana,Diaz,1980-04-02,,,EXT-LAST,\n"
    first_of_next = "Ana,Diaz,1980-04-02,,,EXT-LAST,ana@example.org\n"
    done = job(practice, upload(gateway, practice, HEADER + "".join(filler) + last_of_block + first_of_next))
    # Then the row updated Ana (every row's only warning is its missing cell phone; no "not_updated_missing")
    assert (done.counts.created, done.counts.updated, done.counts.warnings) == (
        engine.BLOCK_ROWS,
        1,
        engine.BLOCK_ROWS + 1,
    )
    ana = next(i for i in items_of(practice) if i["type"]["S"] == "Patient" and i["first_name"]["S"] == "Ana")
    assert ana["email"]["S"] == "ana@example.org"
