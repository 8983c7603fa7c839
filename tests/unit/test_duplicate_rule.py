"""The one probable-duplicate rule (R-IMPORT-4, R-CREATE-4), used by patient creation, the import and a cell-phone
change: pure, so every case is proven here without a database."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from frontdesk.domain.duplicates import SAME_CELL_PHONE, SAME_NAME_AND_DOB, probable_duplicates

IDS = st.sampled_from(["p1", "p2", "p3", "p4", "me"])
EXTERNAL = st.none() | st.sampled_from(["MRN1", "MRN2"])
LINES = st.sampled_from(["cell", "landline"])


def test_r_import_4_same_name_and_dob_is_a_probable_duplicate_unless_the_external_id_is_the_same():
    # Given profiles with the patient's name and DOB: one with another MRN, one without, one with the same MRN
    names = [("p1", "MRN9"), ("p2", None), ("p3", "MRN1")]
    # When the rule is applied to a patient with MRN1
    found = probable_duplicates("me", "MRN1", names)
    # Then the same MRN is the same patient (R-IMPORT-2), the others are probable duplicates
    assert found == {"p1": SAME_NAME_AND_DOB, "p2": SAME_NAME_AND_DOB}


def test_r_create_4_a_shared_cell_phone_is_a_probable_duplicate_a_shared_landline_is_not():
    # Given profiles with the patient's cell phone: as their cell, and as their landline
    numbers = [("p1", "cell"), ("p2", "landline")]
    # When the rule is applied
    found = probable_duplicates("me", None, same_number=numbers)
    # Then only the other cell phone makes a pair (families share landlines)
    assert found == {"p1": SAME_CELL_PHONE}


def test_r_import_4_the_name_reason_wins_and_the_patient_is_never_its_own_duplicate():
    found = probable_duplicates("me", None, [("me", None), ("p1", None)], [("p1", "cell"), ("me", "cell")])
    assert found == {"p1": SAME_NAME_AND_DOB}


@given(
    me=IDS,
    external_id=EXTERNAL,
    names=st.lists(st.tuples(IDS, EXTERNAL), max_size=6),
    numbers=st.lists(st.tuples(IDS, LINES), max_size=6),
)
def test_r_import_4_r_create_4_the_rule_pairs_exactly_the_qualifying_candidates(me, external_id, names, numbers):
    # When the rule is applied to any candidates
    found = probable_duplicates(me, external_id, names, numbers)
    # Then a name+DOB candidate pairs unless it is the patient or has the same external id
    by_name = {pid for pid, ext in names if pid != me and not (ext and ext == external_id)}
    # and a number candidate pairs when it is another profile's cell phone
    by_cell = {pid for pid, line in numbers if pid != me and line == "cell"}
    assert set(found) == by_name | by_cell
    assert all(found[pid] == SAME_NAME_AND_DOB for pid in by_name)
    assert all(found[pid] == SAME_CELL_PHONE for pid in by_cell - by_name)
    # and the order is the order found: name candidates first
    qualifying = [p for p, ext in names if p != me and not (ext and ext == external_id)]
    qualifying += [p for p, line in numbers if p != me and line == "cell"]
    assert list(found) == list(dict.fromkeys(qualifying))
