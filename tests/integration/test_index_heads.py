"""Index heads (docs/data-model.md, A30): every writer of a PhoneIndex or NameDob entry also writes its partition's
head, so an import that Queries only partitions with a head still finds every probable duplicate (R-IMPORT-4)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.test_import_service import HEADER, items_of, job, upload
from tests.support import invoke_route, unique_phone

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def gateway(dynamodb: str, s3: Any) -> Any:
    from infra.local.server import Gateway
    from infra.template import wiring
    from tests.conftest import IMPORTS_BUCKET

    return Gateway(wiring(), IMPORTS_BUCKET, s3)


def _practice() -> tuple[str, dict[str, str]]:
    support = {"sub": "s", "role": "support"}
    created = invoke_route("POST", "/practices", {"name": "Clinic", "textable_number": unique_phone()}, support)
    assert created.status == 201, created
    practice_id = created.body["practice_id"]
    return practice_id, {"sub": "a1", "role": "admin", "practice_id": practice_id, "staff_id": "a1"}


def _create(admin: dict[str, str], first: str, dob: str, **fields: str) -> str:
    body = {"first_name": first, "last_name": "Lopez", "date_of_birth": dob, **fields}
    created = invoke_route("POST", "/patients", body, admin)
    assert created.status == 201, created
    return str(created.body["patient_id"])


def _national(e164: str) -> str:
    return e164.removeprefix("+1")


def test_r_import_4_duplicates_of_profiles_changed_by_every_writer_are_found(gateway: Any) -> None:
    practice, admin = _practice()
    # Given profiles whose index entries were written by each path that writes them:
    created_cell, landline = unique_phone(), unique_phone()
    _create(admin, "Created", "1980-01-01", cell_phone=created_cell, landline=landline)
    dob_changed = _create(admin, "Dob", "1980-01-02")
    reply = invoke_route("PUT", f"/patients/{dob_changed}/date-of-birth", {"date_of_birth": "1981-02-03"}, admin)
    assert reply.status == 200, reply
    phone_changed, new_cell = _create(admin, "Phone", "1980-01-03"), unique_phone()
    reply = invoke_route("PUT", f"/patients/{phone_changed}/cell-phone", {"cell_phone": new_cell}, admin)
    assert reply.status == 200, reply
    # ...and one updated by an import (a known external id with a new name and cell phone)
    upload(gateway, practice, HEADER + "Old,Name,1970-05-05,,,EXT-1,\n", "first.csv")
    imported_cell = unique_phone()
    upload(gateway, practice, HEADER + f"Renamed,Name,1970-05-05,{_national(imported_cell)},,EXT-1,\n", "second.csv")

    # When rows matching each of them by the new name + DOB or the new cell phone are imported
    rows = [
        f"Someone,Else,1960-01-01,{_national(created_cell)},,,",  # the created profile's cell
        "Dob,Lopez,1981-02-03,,,,",  # the changed DOB
        f"Other,Person,1960-01-02,{_national(new_cell)},,,",  # the changed cell phone
        "Renamed,Name,1970-05-05,,,,",  # the name an import update gave
        f"Third,Person,1960-01-03,{_national(imported_cell)},,,",  # the cell an import update gave
        "Nobody,New,1960-01-04,,,,",
    ]
    done = job(practice, upload(gateway, practice, HEADER + "\n".join(rows) + "\n", "third.csv"))

    # Then every one of them is a probable duplicate, and the last row is not
    assert (done.counts.created, done.counts.duplicates) == (6, 5)


def test_every_phone_and_name_dob_partition_has_its_head(gateway: Any) -> None:
    practice, admin = _practice()
    target = _create(admin, "Maria", "1980-04-02", cell_phone=unique_phone())
    source = _create(admin, "Maria", "1980-04-02", landline=unique_phone())
    assert invoke_route("POST", f"/patients/{target}/merge", {"source_patient_id": source}, admin).status == 200
    upload(gateway, practice, HEADER + f"Ana,Diaz,1980-04-02,{_national(unique_phone())},,A-1,\n")

    items = items_of(practice)
    entries = {i["pk"]["S"] for i in items if i["type"]["S"] in ("PhoneIndex", "NameDob")}
    heads = {i["pk"]["S"] for i in items if i["type"]["S"] == "IndexHead"}
    assert len(entries) >= 4
    assert entries <= heads


def test_the_backfill_gives_partitions_written_before_heads_existed_their_head(gateway: Any) -> None:
    from frontdesk.cli import main
    from frontdesk.store.patients import IndexHeadItem

    practice, admin = _practice()
    cell = unique_phone()
    _create(admin, "Early", "1955-05-05", cell_phone=cell)
    # Given a table from before heads: the partitions' entries without their heads
    old = [i for i in items_of(practice) if i["type"]["S"] == "IndexHead"]
    for head in old:
        IndexHeadItem(head["pk"]["S"], "HEAD").delete()
    before = job(
        practice, upload(gateway, practice, HEADER + f"Early,Lopez,1955-05-05,{_national(cell)},,,\n", "a.csv")
    )
    assert before.counts.duplicates == 0  # the import cannot see them
    # When the backfill runs
    assert main(["backfill-index-heads"]) == 0
    # Then every partition has its head again and the next import finds the duplicate
    assert {i["pk"]["S"] for i in items_of(practice) if i["type"]["S"] == "IndexHead"} >= {h["pk"]["S"] for h in old}
    after = job(practice, upload(gateway, practice, HEADER + "Early,Lopez,1955-05-05,,,,\n", "b.csv"))
    assert after.counts.duplicates == 1
