"""Merging two patient profiles (R-MERGE-1, R-MERGE-2): who may merge, and what the merged profile holds."""

from __future__ import annotations

from dataclasses import dataclass, replace

from frontdesk.domain.patients import Patient


class MergeRefused(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def check_merge(target: Patient, source: Patient, role: str) -> None:
    """R-MERGE-1: two different cell phones need support; at most one cell, or the same one, is fine for staff.
    Landlines never block a merge (R-MERGE-2)."""
    if target.patient_id == source.patient_id:
        raise MergeRefused("same_patient")
    if target.cell_phone and source.cell_phone and target.cell_phone != source.cell_phone and role != "support":
        raise MergeRefused("different_cell_phones")


@dataclass(frozen=True)
class MergePlan:
    target: Patient  # the target after the merge
    moved_numbers: list[tuple[str, str]]  # (e164, line_type) now pointing at the target
    dropped_numbers: list[str]  # the source's numbers whose index items go away


def plan_merge(target: Patient, source: Patient) -> MergePlan:
    """The target keeps its own cell phone (or takes the source's when it has none); every landline of the source
    is added (R-MERGE-2). A second, different cell phone (support merges only) is kept as an extra number so
    the patient's texts from it still reach the merged conversation."""
    cell = target.cell_phone or source.cell_phone
    landlines = list(target.landlines)
    extra = [n for n in [*source.landlines, source.cell_phone] if n and n != cell and n not in landlines]
    landlines.extend(dict.fromkeys(extra))
    moved: list[tuple[str, str]] = [(n, "landline") for n in dict.fromkeys(extra)]
    if cell and cell != target.cell_phone:
        moved.append((cell, "cell"))
    dropped = [n for n in [source.cell_phone, *source.landlines] if n]
    # A source whose owner proved this cell phone (logged in) makes the merged patient verified: staff must not
    # then change that number directly (R-PHONE-2).
    verified = target.verified or (source.verified and cell == source.cell_phone)
    merged = replace(target, cell_phone=cell, landlines=landlines, verified=verified)
    return MergePlan(merged, moved, list(dict.fromkeys(dropped)))
