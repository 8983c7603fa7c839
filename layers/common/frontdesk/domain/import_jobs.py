"""Import jobs as values (R-IMPORT-1..3): the uploaded object, its chunks, the job and its counts, row errors, the
practice's writers at work, what a block's look-up found. No storage here: store/imports.py reads and writes them."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

IMPORTS_PREFIX = "imports/"
REPORTS_PREFIX = "import-reports/"


@dataclass(frozen=True)
class S3Object:
    bucket: str
    key: str
    size: int
    etag: str


@dataclass(frozen=True)
class ChunkTask:
    """One byte range [start, end) of the file, cut at a record boundary; rows numbered from first_row."""

    practice_id: str
    import_id: str
    chunk: int
    start: int
    end: int
    first_row: int

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @staticmethod
    def from_dict(data: dict[str, Any]) -> ChunkTask:
        return ChunkTask(
            practice_id=str(data["practice_id"]),
            import_id=str(data["import_id"]),
            chunk=int(data["chunk"]),
            start=int(data["start"]),
            end=int(data["end"]),
            first_row=int(data["first_row"]),
        )


def practice_of_key(key: str) -> str | None:
    parts = key.split("/")
    if len(parts) < 3 or parts[0] + "/" != IMPORTS_PREFIX or not parts[1] or not parts[-1]:
        return None
    return parts[1]


def report_key_for(source_key: str, import_id: str) -> str:
    """Beside the upload: imports/<p>/<name>.csv -> import-reports/<p>/<name>.<import_id>.report.csv."""
    rest = source_key.removeprefix(IMPORTS_PREFIX)
    stem = rest[:-4] if rest.lower().endswith(".csv") else rest
    return f"{REPORTS_PREFIX}{stem}.{import_id[:8]}.report.csv"


@dataclass
class Counts:
    rows_read: int = 0
    created: int = 0
    updated: int = 0
    rejected: int = 0
    warnings: int = 0
    duplicates: int = 0

    def add(self, other: Counts) -> None:
        for name in COUNT_FIELDS:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_dict(self) -> dict[str, int]:
        return {name: int(getattr(self, name)) for name in COUNT_FIELDS}


COUNT_FIELDS = tuple(f.name for f in fields(Counts))


@dataclass
class ImportJob:
    practice_id: str
    import_id: str
    status: str  # running | completed | failed
    source_bucket: str
    source_key: str
    etag: str
    size: int
    created_at: datetime
    counts: Counts = field(default_factory=Counts)
    columns: dict[str, int] = field(default_factory=dict)
    chunks_total: int = 0
    chunks_done: int = 0
    report_key: str | None = None
    error: str | None = None
    error_code: str | None = None
    finished_at: datetime | None = None


@dataclass(frozen=True)
class RowError:
    row: int
    field: str
    code: str
    message: str


def writer_entry(name: str, at: datetime) -> str:
    """A writer at work as the practice's set of writers holds it: "<import_id>#<chunk>#<registered_at>"."""
    return f"{name}#{at.isoformat()}"


def registered_at(entry: str) -> datetime:
    return datetime.fromisoformat(entry.rsplit("#", 1)[1])


@dataclass(frozen=True)
class Writers:
    """The practice's import writers at work and the count of their arrivals and departures."""

    changes: int
    present: frozenset[str]

    def raced(self, earlier: Writers, me: str, alive_since: datetime) -> bool:
        """Someone arrived or left since `earlier`, or another writer registered after `alive_since` is here."""
        others = [w for w in self.present if w != me and registered_at(w) >= alive_since]
        return self.changes != earlier.changes or bool(others)


@dataclass(frozen=True)
class BlockLookup:
    """What a block's BatchGetItem found: the rows' own profiles, the external-id claims, the index heads."""

    profiles: set[tuple[str, str]]  # (practice_id, patient_id) of profiles already stored
    external_ids: dict[str, str]  # external id -> the patient that claimed it
    heads: set[str]  # index partitions with a head (only these can hold a probable duplicate)
