"""`python -m benchmarks [name ...]`: runs every benchmark module (or those named) and prints one table."""

from __future__ import annotations

import importlib
import platform
import sys
import time
import traceback
from datetime import UTC, datetime

from benchmarks.common import Row, failed, format_table, row

# In table order. routing_latency and import_throughput come from the routing and import branches: listed here,
# collected when present.
MODULES = (
    "cold_start",
    "requests_per_operation",
    "api_latency",
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


def main(argv: list[str] | None = None) -> int:
    wanted = (argv if argv is not None else sys.argv[1:]) or list(MODULES)
    rows: list[Row] = []
    for name in wanted:
        try:
            module = importlib.import_module(f"benchmarks.{name}")
        except ModuleNotFoundError as error:
            if error.name == f"benchmarks.{name}":
                print(f"[bench] {name}: not present on this branch, skipped", file=sys.stderr)
                continue
            raise
        started = time.monotonic()
        print(f"[bench] {name} ...", file=sys.stderr, flush=True)
        try:
            produced = list(module.run())
        except Exception:
            traceback.print_exc()
            produced = [row(f"{name}: benchmark failed to run", "error", "", "runs", False)]
        print(f"[bench] {name}: {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
        rows += produced
    print(f"frontdesk benchmarks, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {machine()}")
    print(format_table(rows))
    missed = failed(rows)
    print(f"\n{len(rows)} figures, {len(missed)} missing their target")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
