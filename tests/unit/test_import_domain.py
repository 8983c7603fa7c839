"""The pure parts of an import, without S3 or DynamoDB: chunk planning (R-IMPORT-5, R-IMPORT-6), what a row changes
in a stored profile (R-IMPORT-2, R-DOB-4, R-PHONE-2), and the store's one jittered back-off."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from frontdesk.domain.csv_rows import ImportFailed, PatientRow
from frontdesk.domain.imports import apply_row, derived_id, new_patient, plan_chunks
from frontdesk.store import backoff

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
HEADER = b"First Name,Last Name,DOB\n"


def pieces_of(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.sampled_from([b"Ana,Diaz,1980-01-02\n", b'"Li, Jr",Kim,1970-03-04\r\n', b"\n", b'"bad,x\n']), max_size=40
    ),
    chunk_bytes=st.integers(min_value=1, max_value=300),
    piece=st.integers(min_value=1, max_value=64),
)
def test_r_import_5_r_import_6_chunks_cover_the_data_once_in_order_from_true_line_numbers(rows, chunk_bytes, piece):
    # Given a file with a header and any rows (blank lines and malformed records among them)
    data = HEADER + b"".join(rows)
    if len(data) == len(HEADER):
        # Then a file with a header but no data rows fails the job
        with pytest.raises(ImportFailed):
            plan_chunks(pieces_of(data, piece), len(data), "p1", "i1", chunk_bytes)
        return
    # When it is planned in pieces of any size
    header, header_row, tasks = plan_chunks(pieces_of(data, piece), len(data), "p1", "i1", chunk_bytes)
    # Then the header is mapped, and the chunks cover every byte after it exactly once, in order, numbered 1..n
    assert (header_row, sorted(header.columns)) == (1, ["date_of_birth", "first_name", "last_name"])
    assert [t.chunk for t in tasks] == list(range(1, len(tasks) + 1))
    assert tasks[0].start == len(HEADER) and tasks[-1].end == len(data)
    assert all(a.end == b.start for a, b in zip(tasks, tasks[1:], strict=False))
    # and each chunk starts on the true line number of its first byte
    assert all(t.first_row == data[: t.start].count(b"\n") + 1 for t in tasks)


def test_r_import_5_an_empty_or_binary_file_fails_the_plan():
    with pytest.raises(ImportFailed) as empty:
        plan_chunks([], 0, "p1", "i1", 100)
    with pytest.raises(ImportFailed) as binary:
        plan_chunks([b"\x00\x01\x02PK\x03\x04" * 50], 300, "p1", "i1", 100)
    assert (empty.value.code, binary.value.code) == ("empty_file", "not_csv")


def _row(**changes: object) -> PatientRow:
    row = PatientRow(7, "Ana", "Diaz", date(1980, 1, 2), "+12125550101", None, None, "MRN1")
    return replace(row, **changes)  # type: ignore[arg-type]


def test_r_import_2_a_row_with_nothing_new_changes_nothing():
    stored = new_patient("p1", "i1", _row(), "pat1", NOW)
    assert apply_row(stored, _row()) == (None, [])


def test_r_dob_4_r_phone_2_a_verified_patients_dob_and_cell_phone_are_not_the_imports_to_change():
    # Given a verified patient
    stored = new_patient("p1", "i1", _row(), "pat1", NOW)
    stored.verified = True
    # When a row brings another DOB, another cell phone and a landline
    changed, issues = apply_row(
        stored, _row(date_of_birth=date(1981, 1, 2), cell_phone="+12125550199", landline="+12125550100")
    )
    # Then only the landline is added, and the two refusals are warnings on their fields
    assert changed is not None and changed.landlines == ["+12125550100"]
    assert (changed.date_of_birth, changed.cell_phone) == (stored.date_of_birth, stored.cell_phone)
    assert [(i.field, i.code, i.severity) for i in issues] == [
        ("date_of_birth", "not_updated_verified", "warning"),
        ("cell_phone", "not_updated_verified", "warning"),
    ]
    assert stored.landlines == []  # the stored profile is not changed in place


def test_r_import_2_an_unverified_patient_takes_the_rows_values():
    stored = new_patient("p1", "i1", _row(), "pat1", NOW)
    changed, issues = apply_row(stored, _row(first_name="Anna", date_of_birth=date(1981, 1, 2)))
    assert changed is not None and (changed.first_name, changed.date_of_birth) == ("Anna", date(1981, 1, 2))
    assert issues == []


def test_r_import_2_a_rows_ids_are_the_same_at_every_attempt():
    assert derived_id("i1", 7, "patient") == derived_id("i1", 7, "patient") != derived_id("i1", 8, "patient")
    assert new_patient("p1", "i1", _row(), "pat1", NOW).conversation_id == derived_id("i1", 7, "conversation")


@given(attempt=st.integers(min_value=0, max_value=12), cap=st.none() | st.floats(min_value=0.01, max_value=3))
def test_r_rel_2_the_back_off_stays_below_its_doubling_ceiling_and_its_cap(attempt, cap):
    pause = backoff.jitter(attempt, cap=cap)
    ceiling = backoff.BASE_SECONDS * 2**attempt
    assert 0 <= pause <= (ceiling if cap is None else min(cap, ceiling))
