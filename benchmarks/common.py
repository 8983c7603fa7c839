"""What every benchmark shares: the row format, medians and percentiles, the table, and a standalone main."""

from __future__ import annotations

import math
import os
import statistics
import sys
from collections.abc import Callable, Sequence
from typing import Any, TypedDict


class Row(TypedDict):
    name: str
    value: Any  # a number, or a short text (e.g. "error")
    unit: str
    target: str  # human-readable, e.g. "<= 1.5x"; "" when the figure is informational
    ok: bool | None  # None: informational (no target)


def row(name: str, value: Any, unit: str, target: str = "", ok: bool | None = None) -> Row:
    return {"name": name, "value": value, "unit": unit, "target": target, "ok": ok}


def runs(default: int) -> int:
    """How many repetitions: BENCH_RUNS overrides every benchmark's default (at least 1)."""
    return max(1, int(os.environ.get("BENCH_RUNS", default)))


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty sample."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(p / 100 * len(ordered))))
    return float(ordered[rank - 1])


def _value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.2f}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


def format_table(rows: Sequence[Row]) -> str:
    """One aligned text table: figure, value, unit, target, met?"""
    header = ("figure", "value", "unit", "target", "met?")
    body = [
        (r["name"], _value(r["value"]), r["unit"], r["target"] or "-", {True: "yes", False: "NO", None: "-"}[r["ok"]])
        for r in rows
    ]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            cell.rjust(widths[i]) if i == 1 else cell.ljust(widths[i]) for i, cell in enumerate(cells)
        ).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(cells) for cells in body)])


def failed(rows: Sequence[Row]) -> list[Row]:
    return [r for r in rows if r["ok"] is False]


def main(run: Callable[[], list[Row]]) -> int:
    """Standalone entry point of one benchmark: print its table; exit 1 when a figure misses its target."""
    rows = run()
    print(format_table(rows))
    sys.stdout.flush()
    return 1 if failed(rows) else 0


def lambda_site_packages() -> str:
    """The layer's dependencies alone (layers/common/requirements.txt, installed once with `pip --target`).

    Lambda imports from /var/task (the function), /opt/python (the layer) and the runtime's stdlib - not from a
    dev virtualenv, whose extra packages change what libraries import (PyJWT imports `cryptography` when present).
    """
    import hashlib
    import subprocess

    from infra.template import ROOT

    requirements = ROOT / "layers" / "common" / "requirements.txt"
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()[:12]
    target = ROOT / ".local" / "bench" / f"layer-{digest}"
    if not (target / ".complete").exists():
        print(f"[bench] installing the layer's dependencies into {target} ...", file=sys.stderr, flush=True)
        subprocess.run(  # noqa: S603 - fixed command
            [sys.executable, "-m", "pip", "install", "--quiet", "--target", str(target), "-r", str(requirements)],
            check=True,
            capture_output=True,
        )
        (target / ".complete").touch()
    return str(target)


def base_python() -> str:
    """The interpreter the virtualenv was made from (run with -S: no site-packages, as in Lambda)."""
    return str(getattr(sys, "_base_executable", sys.executable))


_ENGINE: Any = None


_SECRETS_ENDPOINT: str | None = None


def local_secrets() -> str:
    """The template's secrets in a moto server of this process, the environment pointed at them (R-AUTH-5: the
    functions read secrets from Secrets Manager at run time); set up before frontdesk first reads its settings."""
    global _SECRETS_ENDPOINT
    if _SECRETS_ENDPOINT is None:
        import atexit

        from moto.server import ThreadedMotoServer

        from infra.local import secrets as local
        from infra.local.dynamodb import free_port

        port = free_port()
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
        atexit.register(server.stop)
        _SECRETS_ENDPOINT = f"http://127.0.0.1:{port}"
        local.configure(_SECRETS_ENDPOINT)
    return _SECRETS_ENDPOINT


_COGNITO: Any = None


def local_cognito() -> Any:
    """The template's user pool in moto's cognito-idp, in a moto server of this process, the environment pointed at
    it (POST /staff invites into it, R-AUTH-2); set up before frontdesk first reads its settings."""
    global _COGNITO
    if _COGNITO is None:
        import atexit

        from moto.server import ThreadedMotoServer

        from infra.local import cognito
        from infra.local.dynamodb import free_port

        port = free_port()
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
        atexit.register(server.stop)
        _COGNITO = cognito.create_pool(f"http://127.0.0.1:{port}")
        os.environ.update(_COGNITO.environment())
    return _COGNITO


def local_dynamodb() -> str:
    """One DynamoDB Local for this process, with the template's table; the environment is set for frontdesk.

    Must run before anything imports frontdesk (PynamoDB reads the endpoint when its models are defined).
    """
    global _ENGINE
    import warnings

    # Powertools warns on every invocation of a function that published no metric (Metrics is disabled here).
    warnings.filterwarnings("ignore", "No application metrics to publish", UserWarning)
    if _ENGINE is not None:
        return str(_ENGINE.endpoint)
    import atexit

    from infra.local.dynamodb import DynamoDBLocal, create_table, java_available
    from infra.template import wiring

    if not java_available():
        raise RuntimeError("DynamoDB Local is not installed: run `make bench` (it installs it)")
    engine = DynamoDBLocal().start()
    atexit.register(engine.stop)
    table = "frontdesk-bench"
    os.environ.update(
        {
            "FRONTDESK_ENV": "local",
            "TABLE_NAME": table,
            "DYNAMODB_ENDPOINT": engine.endpoint,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
            # DynamoDB Local keeps one database per access key: the same dummy key create_table used.
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "EVENT_BUS_NAME": "frontdesk-bench",
            "IMPORTS_BUCKET": "frontdesk-bench-imports",
            "POWERTOOLS_SERVICE_NAME": "frontdesk",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_DISABLED": "true",
            # As the template and the runner: disabled metrics are never flushed, so Powertools serializes them
            # itself at a metric's 100th value, and without a namespace that raises (the 100th message a 500).
            "POWERTOOLS_METRICS_NAMESPACE": "frontdesk",
            "POWERTOOLS_LOG_LEVEL": "ERROR",
        }
    )
    create_table(engine.endpoint, table, wiring().table)
    local_cognito()
    local_secrets()
    _ENGINE = engine
    return str(engine.endpoint)
