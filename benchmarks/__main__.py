"""`python -m benchmarks [name ...]`: runs every benchmark module (or those named) and prints one table.

`--help` prints the usage and the names; an unknown name is an error (exit 2), never a silent skip.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime

from benchmarks.common import Row, failed, format_table, row
from infra.template import ROOT

# In table order: every module of benchmarks/ that has a run() (a unit test checks the two lists agree).
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


def parser() -> argparse.ArgumentParser:
    described = "\n".join(f"  {name:<24}{_summary(name)}" for name in MODULES)
    parse = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Runs the benchmarks (each in its own interpreter) and prints one table: figure, value, unit, "
        "target, met?. Exit status 1 when a figure misses its target. BENCH_RUNS overrides the repetitions.",
        epilog=f"benchmarks, in table order (all when none is named):\n{described}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parse.add_argument("names", nargs="*", metavar="name", help="a benchmark to run (default: all)")
    return parse


def _summary(name: str) -> str:
    """The first line of the module's docstring, read without importing it (importing may start engines)."""
    import ast

    source = (ROOT / "benchmarks" / f"{name}.py").read_text(encoding="utf-8")
    doc = ast.get_docstring(ast.parse(source)) or ""
    return doc.splitlines()[0] if doc else ""


def main(argv: list[str] | None = None) -> int:
    parse = parser()
    names = parse.parse_args(argv if argv is not None else sys.argv[1:]).names
    unknown = [name for name in names if name not in MODULES]
    if unknown:
        parse.error(f"unknown benchmark {', '.join(unknown)} (choose from {', '.join(MODULES)})")  # exits 2
    wanted = names or list(MODULES)
    rows: list[Row] = []
    for name in wanted:
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
