"""Counting the DynamoDB requests a block of code makes, in-process, and the budgets of docs/data-model.md.

Every DynamoDB call of PynamoDB and boto3 goes through botocore's `BaseClient._make_api_call` (one call per
logical request; botocore's retries of a throttled request happen below it and are counted apart, from the
`before-send` event, as attempts).
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from infra.template import ROOT

DATA_MODEL = ROOT / "docs" / "data-model.md"


@dataclass
class Requests:
    operations: list[str] = field(default_factory=list)
    attempts: int = 0
    items: list[str] = field(default_factory=list)  # what each GetItem / UpdateItem / PutItem read or wrote
    per: int = 1  # how many items the counted call handled (a job's requests are compared per item)

    @property
    def count(self) -> int:
        return len(self.operations)

    @property
    def per_item(self) -> float:
        return self.count / self.per

    def per_text(self) -> str:
        return f"; {self.count} for {self.per} items" if self.per > 1 else ""

    def summary(self) -> str:
        counts = Counter(self.operations)
        return ", ".join(f"{name} x{n}" if n > 1 else name for name, n in sorted(counts.items())) or "none"


_local = threading.local()
_installed = False
_lock = threading.Lock()


def _install() -> None:
    """Wraps BaseClient._make_api_call once; counting is per thread, only inside `counting()`."""
    global _installed
    with _lock:
        if _installed:
            return
        from botocore.client import BaseClient

        original = BaseClient._make_api_call

        def counted(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
            sink: Requests | None = getattr(_local, "sink", None)
            if sink is not None and self.meta.service_model.service_name == "dynamodb":
                sink.operations.append(operation_name)
                sink.items.append(f"{operation_name}({item_kind(api_params)})")
                if not getattr(self, "_bench_attempts_hooked", False):
                    self.meta.events.register("before-send.dynamodb", _count_attempt)
                    self._bench_attempts_hooked = True
            return original(self, operation_name, api_params)

        BaseClient._make_api_call = counted  # type: ignore[method-assign]
        _installed = True


def item_kind(params: dict[str, Any]) -> str:
    """The kind of item a single-item request touches: its sort key's first part (`PROFILE`, `CONV`, ...) or the
    discriminator of a Put; an index query's name. Ids are dropped (they are noise, and may be phone numbers)."""
    key = params.get("Key") or params.get("Item") or {}
    sort = key.get("sk", {}).get("S") if isinstance(key, dict) else None
    if isinstance(sort, str):
        return sort.split("#", 1)[0]
    return str(params.get("IndexName", ""))


def _count_attempt(**_: Any) -> None:
    sink: Requests | None = getattr(_local, "sink", None)
    if sink is not None:
        sink.attempts += 1


@contextmanager
def counting() -> Iterator[Requests]:
    _install()
    sink = Requests()
    previous = getattr(_local, "sink", None)
    _local.sink = sink
    try:
        yield sink
    finally:
        _local.sink = previous


_ROW = re.compile(r"^\|\s*(A\d+)\s*\|(.*)\|(.*)\|(.*)\|\s*$")


def budgets() -> dict[str, tuple[int | None, str]]:
    """{access pattern id: (base budget, the budget cell as written)} from docs/data-model.md's table.

    The base is the cell's largest leading figure ("2-3" -> 3, "2 (+1 practice, +n audit)" -> 2); an
    operation adds the extras its cell names itself. A formula ("~ rows/25") has no base: its operation
    computes its budget from the cell.
    """
    found: dict[str, tuple[int | None, str]] = {}
    for line in DATA_MODEL.read_text(encoding="utf-8").splitlines():
        match = _ROW.match(line)
        if not match:
            continue
        cell = match.group(4).strip()
        figures = re.match(r"(\d+)(?:\s*-\s*(\d+))?", cell)
        found[match.group(1)] = (int(figures.group(2) or figures.group(1)) if figures else None, cell)
    return found
