"""Every handler module turns the garbage collector off while it imports and back on when done (frontdesk.startup):
a handler that forgot done() would serve requests without cyclic garbage collection."""

from __future__ import annotations

import subprocess
import sys

import pytest

from benchmarks.cold_start import lambda_environment
from infra.template import ROOT, wiring

PROBE = """
import gc, sys
sys.path[:0] = {paths!r}
import {module}
print(gc.isenabled(), gc.get_freeze_count())
"""


def _handlers() -> list[tuple[str, str, str]]:
    return sorted(
        (logical_id, spec.handler.rpartition(".")[0], str(spec.code_dir))
        for logical_id, spec in wiring().functions.items()
    )


@pytest.mark.parametrize(("logical_id", "module", "code_dir"), _handlers(), ids=[h[0] for h in _handlers()])
def test_the_collector_is_on_after_the_handler_imports_and_what_it_imported_is_frozen(
    logical_id: str, module: str, code_dir: str
) -> None:
    paths = [code_dir, str(ROOT / "layers" / "common")]
    done = subprocess.run(  # noqa: S603 - our own interpreter and probe
        [sys.executable, "-c", PROBE.format(paths=paths, module=module)],
        env=lambda_environment(),
        capture_output=True,
        text=True,
        check=True,
    )
    enabled, frozen = done.stdout.split()
    assert enabled == "True", logical_id
    assert int(frozen) > 10_000, logical_id  # the handler's imports went to the permanent generation
