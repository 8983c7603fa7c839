"""CSV imports over HTTP through the local runner: upload, job status, duplicates, the CLI (R-IMPORT-1..4)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from tests.support import Api

pytestmark = pytest.mark.e2e

HEADER = "Given,Family,Birthdate,Cell Phone,Landline,Patient ID,E-mail\n"


def put_csv(api: Api, practice: dict[str, Any], body: str, name: str = "patients.csv") -> str:
    bucket = api.config()["imports_bucket"]
    # A space in the name: the S3 event carries the key URL-encoded (PITFALLS).
    reply = api.call("PUT", f"/_local/s3/{bucket}/imports/{practice['practice_id']}/{name}", data=body.encode())
    assert reply.status == 200, reply
    return str(reply.body["import_id"])


def test_r_import_3_the_job_is_readable_from_the_api_with_counts_errors_and_report(api: Api):
    # Given a practice and a CSV with a good row, a row without a cell phone and a row without a DOB
    practice = api.new_practice()
    rows = "Ana,Diaz,1980-04-02,(212) 555-0101,,A-1,\nBob,Ray,05/06/1975,,,B-2,\nCy,Lee,,,,,\n"
    # When it is put in the imports bucket
    import_id = put_csv(api, practice, HEADER + rows, "monday patients.csv")
    # Then GET /imports/{id} shows the finished job
    job = api.call("GET", f"/imports/{import_id}", practice["admin"])
    assert job.status == 200, job
    body = job.body
    assert body["status"] == "completed"
    assert body["source_key"] == f"imports/{practice['practice_id']}/monday patients.csv"
    assert {k: body[k] for k in ("rows_read", "created", "updated", "rejected", "warnings", "duplicates")} == {
        "rows_read": 3,
        "created": 2,
        "updated": 0,
        "rejected": 1,
        "warnings": 1,
        "duplicates": 0,
    }
    assert {(e["row"], e["field"], e["code"]) for e in body["errors"]} == {
        (3, "cell_phone", "missing_cell_phone"),
        (4, "date_of_birth", "missing_date_of_birth"),
    }
    assert body["report_key"].startswith(f"import-reports/{practice['practice_id']}/monday patients.")
    # And GET /imports lists it
    listed = api.call("GET", "/imports", practice["admin"])
    assert [item["import_id"] for item in listed.body["items"]] == [import_id]
    # And the imported patient is a real profile (reachable by phone search)
    found = api.call("POST", "/patients/search", practice["admin"], {"phone": "212-555-0101"})
    assert [p["external_id"] for p in found.body["items"]] == ["A-1"]


def test_r_import_2_the_same_object_put_twice_is_one_job(api: Api):
    practice = api.new_practice()
    body = HEADER + "Ana,Diaz,1980-04-02,(212) 555-0101,,A-1,\n"
    first = put_csv(api, practice, body)
    second = put_csv(api, practice, body)
    assert first == second
    assert api.call("GET", f"/imports/{first}", practice["admin"]).body["created"] == 1
    assert len(api.call("GET", "/imports", practice["admin"]).body["items"]) == 1


def test_r_import_4_probable_duplicates_are_listed_by_the_api(api: Api):
    practice = api.new_practice()
    manual = api.new_patient(practice, first_name="Ana", last_name="Diaz", date_of_birth="1980-04-02")
    import_id = put_csv(api, practice, HEADER + "Ana,Diaz,04/02/1980,,,Z-9,\n")
    assert api.call("GET", f"/imports/{import_id}", practice["admin"]).body["duplicates"] == 1
    pairs = api.call("GET", "/patients/duplicates", practice["admin"])
    assert pairs.status == 200, pairs
    assert len(pairs.body["items"]) == 1
    assert manual["patient_id"] in pairs.body["items"][0]["patient_ids"]
    assert pairs.body["items"][0]["reason"] == "same_name_and_dob"


def test_r_sec_1_an_import_of_another_practice_is_not_found(api: Api):
    home, away = api.new_practice(), api.new_practice()
    import_id = put_csv(api, home, HEADER + "Ana,Diaz,1980-04-02,,,,\n")
    assert api.call("GET", f"/imports/{import_id}", away["admin"]).status == 404
    assert api.call("GET", "/imports", away["admin"]).body["items"] == []
    assert api.call("GET", "/patients/duplicates", away["admin"]).body["items"] == []


def test_r_import_5_a_failed_file_is_reported_with_a_clear_error(api: Api):
    practice = api.new_practice()
    import_id = put_csv(api, practice, "Name,Phone\nAna,2125550101\n")
    body = api.call("GET", f"/imports/{import_id}", practice["admin"]).body
    assert body["status"] == "failed"
    assert "required columns" in body["error"]
    assert body["created"] == 0


def test_r_import_cli_uploads_shows_progress_and_the_summary(api: Api, tmp_path: Path):
    from frontdesk.cli import run_import

    practice = api.new_practice()
    path = tmp_path / "from cli.csv"
    path.write_text(HEADER + "".join(f"P{i},Family{i},1980-01-0{1 + i % 9},,,C-{i},\n" for i in range(250)))
    out = io.StringIO()
    job = run_import(path, practice["practice_id"], api.base, out=out, poll_seconds=0.05)
    assert job["status"] == "completed" and job["created"] == 250
    printed = out.getvalue()
    assert "[##############################] 100%" in printed
    assert "rows read 250  created 250" in printed
