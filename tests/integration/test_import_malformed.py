"""R-IMPORT-6 against DynamoDB Local and moto S3, through the real handlers: lone-CR files, a stray quote that costs
only its line (whole, chunked, re-run after a crash), control characters after the first 8 kB, `.CSV` keys."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import IMPORTS_BUCKET
from tests.integration.test_import_service import items_of, job, new_practice, report, types_of, upload

pytestmark = pytest.mark.integration

HEADER = "First Name,Last Name,DOB,Mobile,MRN\n"


@pytest.fixture(scope="module")
def gateway(dynamodb: str, s3: Any) -> Any:
    from infra.local.server import Gateway
    from infra.template import wiring

    return Gateway(wiring(), IMPORTS_BUCKET, s3)


def stray_quote_file(good_rows: int = 600, bad_line: int = 400) -> bytes:
    """Row 2 opens a quote that never closes; then good rows, one with an impossible DOB on bad_line."""
    rows = [f"Ann{n},Lee{n},2000-01-{n % 28 + 1:02d},,M{n}" for n in range(good_rows)]
    rows[bad_line - 3] = "Bad,Date,2000-02-30,,"
    return (HEADER + '"Bob,Stray,1990-01-01,,M-STRAY\n' + "\n".join(rows) + "\n").encode()


def run_import(s3: Any, body: bytes, chunk_bytes: int, name: str = "file.csv") -> tuple[str, Any]:
    from frontdesk.domain.import_jobs import S3Object
    from frontdesk.services.imports import start

    practice = new_practice()
    key = f"imports/{practice}/{name}"
    etag = s3.put_object(Bucket=IMPORTS_BUCKET, Key=key, Body=body)["ETag"].strip('"')
    import_id = start.start_import(S3Object(IMPORTS_BUCKET, key, len(body), etag), chunk_bytes=chunk_bytes)
    assert import_id is not None
    return practice, job(practice, import_id)


def errors_of(practice: str, import_id: str) -> list[tuple[int, str, str]]:
    from frontdesk.store.imports import row_errors

    return [(e.row, e.field, e.code) for e in row_errors(practice, import_id) if e.code != "missing_cell_phone"]


@pytest.mark.parametrize("chunk_bytes", [1 << 20, 700], ids=["whole", "chunked"])
def test_r_import_6_a_stray_quote_on_row_2_costs_that_row_only(gateway, s3, chunk_bytes):
    # Given row 2 with a stray opening quote followed by 600 rows (one of them with an impossible DOB on line 400)
    body = stray_quote_file()
    # When it is imported whole or cut in ~700-byte chunks
    practice, done = run_import(s3, body, chunk_bytes)
    # Then 599 patients, one error for line 2 and the DOB error under its true line number
    assert done.status == "completed"
    assert (done.counts.rows_read, done.counts.created, done.counts.rejected) == (601, 599, 2)
    assert done.chunks_total == 2 if chunk_bytes > len(body) else done.chunks_total > 10
    assert errors_of(practice, done.import_id) == [
        (2, "row", "malformed_record"),
        (400, "date_of_birth", "invalid_date_of_birth"),
    ]
    assert types_of(practice)["Patient"] == 599
    message = next(line[3] for line in report(s3, done.report_key) if line[2] == "malformed_record")
    assert message.startswith("Line 2:") and "Stray" not in message


def test_r_import_6_row_2_with_a_stray_quote_then_600_good_rows_gives_600_patients(gateway):
    # Given the file: row 2 with a stray opening quote, then 600 good rows
    rows = "".join(f"Ann{n},Lee{n},2000-01-{n % 28 + 1:02d},,\n" for n in range(600))
    practice = new_practice()
    # When it is dropped in the bucket (the S3 event, the real handler)
    import_id = upload(gateway, practice, HEADER + '"Bob,Stray,1990-01-01,,\n' + rows)
    # Then 600 patients and one row error, for line 2
    done = job(practice, import_id)
    assert (done.status, done.counts.created, done.counts.rejected) == ("completed", 600, 1)
    assert errors_of(practice, import_id) == [(2, "row", "malformed_record")]


def test_r_import_6_a_chunked_import_retried_after_a_crash_counts_the_damaged_file_once(gateway, s3, monkeypatch):
    from frontdesk.domain.import_jobs import ChunkTask, S3Object
    from frontdesk.services.imports import engine, start
    from frontdesk.store import imports as job_store

    body = stray_quote_file(300, bad_line=200)
    _, expected = run_import(s3, body, 600)
    # Given a chunked import of the damaged file whose every data chunk died after writing its rows
    practice = new_practice()
    key = f"imports/{practice}/crash.csv"
    etag = s3.put_object(Bucket=IMPORTS_BUCKET, Key=key, Body=body)["ETag"].strip('"')
    real_complete = job_store.complete_chunk
    tasks: list[ChunkTask] = []

    def crash(practice_id: str, import_id: str, chunk: int, *args: Any) -> bool:
        if chunk:
            raise RuntimeError("the worker died before recording its chunk")
        return real_complete(practice_id, import_id, chunk, *args)

    monkeypatch.setattr(job_store, "complete_chunk", crash)
    import_id = start.start_import(
        S3Object(IMPORTS_BUCKET, key, len(body), etag), chunk_bytes=600, send_chunk=tasks.append
    )
    assert import_id is not None and len(tasks) > 5
    for task in tasks:
        with pytest.raises(RuntimeError):
            engine.process_chunk(task)
    written = types_of(practice)
    # When SQS delivers every chunk again
    monkeypatch.setattr(job_store, "complete_chunk", real_complete)
    for task in reversed(tasks):
        engine.process_chunk(task)
    # Then nothing was written twice and the result is the one of an import that never crashed
    again = types_of(practice)
    assert (again["Patient"], again["ImportError"]) == (written["Patient"], written["ImportError"])
    done = job(practice, import_id)
    assert done.status == "completed" and done.counts == expected.counts
    assert errors_of(practice, import_id) == errors_of(expected.practice_id, expected.import_id)


@pytest.mark.parametrize("ending", ["\r", "\r\n"], ids=["lone-cr", "crlf"])
@pytest.mark.parametrize("chunk_bytes", [1 << 20, 300], ids=["whole", "chunked"])
def test_r_import_6_lone_cr_and_crlf_files_import_every_row(gateway, s3, ending, chunk_bytes):
    # Given an old Mac export: lone CR line endings (and the same file with CRLF)
    rows = [f"Ann{n},Lee{n},2000-01-{n % 28 + 1:02d},(212) 555-{n:04d},M{n}" for n in range(40)]
    body = ending.join([HEADER.strip(), *rows]).encode() + ending.encode()
    # When it is imported
    practice, done = run_import(s3, body, chunk_bytes)
    # Then every row is a patient (it was "header but no data rows")
    assert (done.status, done.counts.rows_read, done.counts.created) == ("completed", 40, 40)
    assert types_of(practice)["Patient"] == 40


def test_r_import_6_a_nul_after_the_first_8_kb_is_a_row_error_not_a_name(gateway):
    # Given a file whose row 602 has a NUL in the first name, far past the 8 kB the binary sniff reads
    rows = "".join(f"Ann{n},Lee{n},2000-01-{n % 28 + 1:02d},,\n" for n in range(600))
    body = (HEADER + rows + "Ma\x00ria,Lo\x01pez,1980-04-02,,\n").encode()
    assert body.index(b"\x00") > 8192
    practice = new_practice()
    # When it is imported
    import_id = upload(gateway, practice, body)
    # Then that row is rejected with an error per field, and no stored name holds a control character
    done = job(practice, import_id)
    assert (done.counts.created, done.counts.rejected) == (600, 1)
    assert errors_of(practice, import_id) == [
        (602, "first_name", "invalid_characters"),
        (602, "last_name", "invalid_characters"),
    ]
    names = [i[f]["S"] for i in items_of(practice) if i["type"]["S"] == "Patient" for f in ("first_name", "last_name")]
    assert names and not any(ch in name for name in names for ch in "\x00\x01")


@pytest.mark.parametrize("name", ["PATIENTS.CSV", "export.Csv"])
def test_r_import_6_an_upper_case_csv_extension_starts_an_import(gateway, name):
    # Given a file saved as .CSV, dropped through the runner's S3 (which applies the template's event filter)
    practice = new_practice()
    status, answer = gateway.put_object(
        IMPORTS_BUCKET, f"imports/{practice}/{name}", (HEADER + "Ana,Diaz,1980-04-02,,\n").encode()
    )
    # Then the import ran
    assert answer.get("import_id"), (status, answer)
    assert job(practice, answer["import_id"]).counts.created == 1


def test_r_import_6_an_object_that_is_not_a_csv_starts_nothing(gateway):
    practice = new_practice()
    _, answer = gateway.put_object(IMPORTS_BUCKET, f"imports/{practice}/notes.txt", b"first,last,dob\nA,B,2000-01-01\n")
    assert not answer.get("import_id")
    assert types_of(practice)["ImportJob"] == 0
