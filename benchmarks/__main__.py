"""`python -m benchmarks [name ...]`: runs every benchmark module (or those named) and prints one table."""

from __future__ import annotations

import importlib.util
import json
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime

from benchmarks.common import Row, failed, format_table, row
from infra.template import ROOT

# In table order. routing_latency and import_throughput come from the routing and import branches: listed here,
# collected when present.
MODULES = (
    "cold_start",
    "requests_per_operation",
    "api_latency",
    "authorizer_latency",
    "scaling",
    "routing_latency",
    "import_throughput",
)


def machine() -> str:
    import os

    memory = ""
    try:
        with open("/proc/meminfo", encoding="utf-8") as handle:
            kib = int(handle.readline().split()[1])
        memory = f", {kib / 1024 / 1024:.1f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return f"{platform.machine()}, {os.cpu_count()} CPUs{memory}, Python {platform.python_version()}"


_MARKER = "BENCH_ROWS "
_CHILD = (
    "import json, sys, importlib\n"
    "rows = importlib.import_module('benchmarks.' + sys.argv[1]).run()\n"
    f"print({_MARKER!r} + json.dumps(list(rows)))\n"
)


def run_module(name: str) -> list[Row]:
    """One benchmark in its own interpreter: each sets up (and owns) its environment, engines and runner."""
    result = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-W", "ignore::UserWarning", "-c", _CHILD, name],
        cwd=str(ROOT),
        stdout=subprocess.PIPE,
        text=True,
        check=False,
    )
    for line in reversed(result.stdout.splitlines()):
        if line.startswith(_MARKER):
            return list(json.loads(line[len(_MARKER) :]))
    sys.stderr.write(result.stdout[-3000:])
    return [row(f"{name}: benchmark failed to run (exit {result.returncode})", "error", "", "runs", False)]


def main(argv: list[str] | None = None) -> int:
    wanted = (argv if argv is not None else sys.argv[1:]) or list(MODULES)
    rows: list[Row] = []
    for name in wanted:
        if importlib.util.find_spec(f"benchmarks.{name}") is None:
            print(f"[bench] {name}: not present on this branch, skipped", file=sys.stderr)
            continue
        started = time.monotonic()
        print(f"[bench] {name} ...", file=sys.stderr, flush=True)
        rows += run_module(name)
        print(f"[bench] {name}: {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
    print(f"frontdesk benchmarks, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {machine()}")
    print(format_table(rows))
    missed = failed(rows)
    print(f"\n{len(rows)} figures, {len(missed)} missing their target")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
