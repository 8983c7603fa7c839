"""Cold start: each function's handler module imported in a fresh interpreter, vs `import boto3` or the HTTP peer.

Each sample is one fresh `python` process, environment as in Lambda (FRONTDESK_ENV=aws, the template's variables,
tracing disabled), sys.path = the function's directory + the layer (Lambda's /var/task + /opt/python):
layers/common and the layer's requirements installed alone (`pip --target`), run by the base interpreter with -S
(no dev virtualenv).
The time is taken inside the process around the import only (interpreter start-up is the same for both).
Samples are interleaved (boto3, f1, f2, ..., boto3, f1, ...) so machine load hits all alike; figures are medians.

The validating HTTP functions (VALIDATING: a Powertools resolver with validation and pydantic bodies) are compared with
a peer measured in the same run (issue 13, item 6): benchmarks/peer/app.py, a minimal function of the same stack
(APIGatewayHttpResolver with validation, one pydantic body, Logger / Metrics / Tracer, one route), the floor any
function of that stack pays. Target: import <= 1.15 x the peer's import, and first request (import + first
invocation) <= 1.15 x the peer's first request. The other functions keep <= 1.5 x `import boto3`.
A second peer, informational (PEER_TABLE, benchmarks/peer/app_table.py), adds one PynamoDB model read by its route:
the same stack once the store's library is in it; each validating function's rows also give their ratio to it.

The "first request" rows say what deferring imports costs later: the same fresh interpreter imports the handler and
then answers one representative request (FIRST_REQUESTS), with botocore's API call answered in memory (see
_FIRST_PROBE): the client is still created and its service model loaded, only the network is left out.

Why a handler is slow: `python -X importtime` (see docs/performance.md for the last breakdown), or
`.venv/bin/python -m benchmarks.cold_start --explain StaffApiFunction`; why its first request is:
`.venv/bin/python -m benchmarks.cold_start --profile StaffApiFunction` (cProfile of the first invocation, CPU clock).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks.common import Row, base_python, lambda_site_packages, main, median, row, runs
from infra.template import ROOT, wiring

TARGET_RATIO = 1.5  # x `import boto3`: functions that do not validate HTTP input
PEER_RATIO = 1.15  # x the peer (import, and first request): the validating HTTP functions
PEER = "PeerFunction"
PEER_TABLE = "PeerTableFunction"  # informational: the peer + one PynamoDB model and one GetItem
PEERS = {PEER: "app", PEER_TABLE: "app_table"}
PEER_DIR = ROOT / "benchmarks" / "peer"
BENCH_SECRET_PREFIX = "bench-secret-value-"
_PRACTICE = {
    "name": "Uptown Family Care",
    "country": "US",
    "textable_number": "(212) 555-0100",
    "has_pm_integration": False,
}
_PATIENT = {"sub": "pat1", "role": "patient", "practice_id": "prac1", "patient_id": "pat1"}
_STAFF = {"sub": "stf1", "role": "admin", "practice_id": "prac1", "staff_id": "stf1"}
_INTEGRATION = {"sub": "pm", "role": "integration", "practice_id": "prac1"}
_LOCATION = {"location_id": "l1", "name": "Uptown"}
_SMS = {"provider_message_id": "m1", "to": "(212) 555-0100", "from": "(646) 555-0142", "body": "Hello"}
LAYER_DIR = ROOT / "layers" / "common"

_PROBE = """
import sys, time
sys.path[:0] = {paths!r}
started = time.perf_counter()
import {module}
print(time.perf_counter() - started)
"""


# One representative request per HTTP function: a route that reads or writes the table and, where the function has
# one, normalises a phone number (the lazily imported paths are taken). Every read finds nothing, every write succeeds.
FIRST_REQUESTS: dict[str, tuple[str, str, dict[str, str] | None, dict[str, Any] | None]] = {
    "StaffApiFunction": ("POST", "/practices", {"sub": "bench", "role": "support"}, _PRACTICE),
    "PatientAuthFunction": ("POST", "/patient/dob-verification", _PATIENT, {"date_of_birth": "1980-04-02"}),
    "MessageIntakeFunction": ("POST", "/webhooks/sms", None, _SMS),
    "PhoneChangeFunction": ("PUT", "/patients/pat1/cell-phone", _STAFF, {"cell_phone": "(646) 555-0142"}),
    "IntegrationsFunction": ("PUT", "/integrations/pm/locations", _INTEGRATION, {"items": [_LOCATION]}),
}

_FIRST_PROBE = """
import json, sys, time
sys.path[:0] = {paths!r}
started = time.perf_counter()
import {module}
imported = time.perf_counter()
if {patch}:  # counted in the first invocation: a no-op when the handler imported botocore already
    import botocore.client

    def _answer(self, operation, params):  # in memory: reads find nothing, writes succeed, secrets have a value
        if operation == "GetSecretValue":
            return {{"Name": params["SecretId"], "SecretString": {prefix!r} + params["SecretId"]}}
        return {{"Items": [], "Count": 0, "ScannedCount": 0}} if operation in ("Query", "Scan") else {{}}

    botocore.client.BaseClient._make_api_call = _answer

class Context:
    function_name = "bench"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:bench"
    aws_request_id = "bench"

event = json.loads({event!r})
if {profile}:  # --profile: the first invocation's calls on the CPU clock (the machine's load left out), to stderr
    import cProfile, pstats

    profiler = cProfile.Profile(time.process_time)
    answer = profiler.runcall({module}.lambda_handler, event, Context())
    pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats({top})
else:
    answer = {module}.lambda_handler(event, Context())
print("FIRST", imported - started, time.perf_counter() - imported, answer["statusCode"])
"""


def lambda_environment() -> dict[str, str]:
    """What Lambda gives the function (template Globals), with dummy credentials and no local endpoints."""
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "SYSTEMROOT")}
    return {
        **keep,
        "FRONTDESK_ENV": "aws",
        "TABLE_NAME": "frontdesk-bench",
        "EVENT_BUS_NAME": "frontdesk-bench-bus",
        "IMPORTS_BUCKET": "frontdesk-bench-imports",
        # Secret ids, as the template gives them; the probe answers GetSecretValue with BENCH_SECRET_PREFIX + id.
        "JWT_SECRET_ID": "bench-jwt",
        "WEBHOOK_SECRET_ID": "bench-webhook",
        "PAGE_TOKEN_SECRET_ID": "bench-page-token",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_LAMBDA_FUNCTION_NAME": "bench",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
        # The X-Ray SDK checks this to know it runs in Lambda: without it the recorder builds two X-Ray API
        # clients for central sampling (~70 ms) that Lambda never builds.
        "LAMBDA_TASK_ROOT": "/var/task",
        "POWERTOOLS_SERVICE_NAME": "frontdesk",
        "POWERTOOLS_METRICS_NAMESPACE": "frontdesk",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false",
        "POWERTOOLS_TRACER_CAPTURE_ERROR": "false",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "PYDANTIC_DISABLE_PLUGINS": "__all__",  # as the template's Globals
        "PYTHONDONTWRITEBYTECODE": "",
    }


def _sample(module: str, paths: list[str], extra: list[str] | None = None) -> float:
    code = _PROBE.format(paths=paths, module=module)
    result = subprocess.run(  # noqa: S603 - our own interpreter and probe
        [base_python(), "-S", *(extra or []), "-c", code],
        env=lambda_environment(),
        cwd=str(ROOT),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"importing {module} from {paths[:1]} failed:\n{result.stderr[-2000:]}")
    return float(result.stdout.strip().splitlines()[-1])


def handlers() -> dict[str, tuple[str, list[str]]]:
    """logical id -> (handler module, sys.path entries), for every function whose code exists on this branch."""
    found = {}
    for logical_id, spec in sorted(wiring().functions.items()):
        module = spec.handler.rpartition(".")[0]
        if (spec.code_dir / f"{module}.py").exists():
            found[logical_id] = (module, [str(spec.code_dir), str(LAYER_DIR), lambda_site_packages()])
    return found


VALIDATING = tuple(FIRST_REQUESTS)  # the HTTP functions whose resolver validates pydantic bodies
# The peer's one route (never deployed: not in the template): a valid body, answered 200.
PEER_REQUEST = ("POST", "/greetings", None, {"name": "Ada"})


def peer(name: str = PEER) -> tuple[str, list[str]]:
    """(handler module, sys.path entries) of a peer, laid out as a function: its directory + the layer's packages."""
    return PEERS[name], [str(PEER_DIR), lambda_site_packages()]


def first_request_event(logical_id: str) -> dict[str, Any]:
    """The HTTP API v2 event of the function's representative request, as API Gateway and the authorizer pass it."""
    import hashlib
    import hmac
    import json

    from infra.local import events
    from infra.template import HttpRoute

    if logical_id in PEERS:
        method, path, _, body = PEER_REQUEST
        raw = json.dumps(body).encode()
        route = HttpRoute(method, path, logical_id, authorized=False)
        return events.http_event(route, method, path, "", {"content-type": "application/json"}, raw, {})
    method, path, claims, body = FIRST_REQUESTS[logical_id]
    found = events.match_route(wiring().routes, method, path)
    assert found is not None, f"no route {method} {path}"
    route, params = found
    raw = json.dumps(body).encode() if body is not None else b""
    headers = {"content-type": "application/json"}
    if claims is None:  # a signed webhook (R-SEC-1)
        secret = (BENCH_SECRET_PREFIX + lambda_environment()["WEBHOOK_SECRET_ID"]).encode()
        headers["x-frontdesk-signature"] = "sha256=" + hmac.new(secret, raw, hashlib.sha256).hexdigest()
    event = events.http_event(route, method, path, "", headers, raw, params)
    if route.authorized:
        event["requestContext"]["authorizer"] = {"lambda": claims}
    return event


def _first_sample(logical_id: str, profile: int = 0) -> tuple[float, float, int]:
    """(import seconds, first invocation seconds, status) in one fresh interpreter; with `profile` (a number of
    lines), the first invocation's profile is printed to stderr."""
    import json

    module, paths = peer(logical_id) if logical_id in PEERS else handlers()[logical_id]
    event = json.dumps(first_request_event(logical_id))
    # The peer without the table makes no AWS call: botocore is not patched (nor imported) in its process.
    code = _FIRST_PROBE.format(
        paths=paths,
        module=module,
        event=event,
        patch=logical_id != PEER,
        prefix=BENCH_SECRET_PREFIX,
        profile=bool(profile),
        top=profile,
    )
    result = subprocess.run(  # noqa: S603 - our own interpreter and probe
        [base_python(), "-S", "-c", code], env=lambda_environment(), cwd=str(ROOT), capture_output=True, text=True
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("FIRST ")]
    if result.returncode != 0 or not lines:
        raise RuntimeError(f"first request of {logical_id} failed:\n{result.stderr[-2000:]}")
    if profile:
        print(result.stderr.replace(lambda_site_packages() + "/", "").replace(f"{ROOT}/", ""), file=sys.stderr)
    _, imported, invoked, status = lines[-1].split()
    return float(imported), float(invoked), int(status)


Samples = dict[str, list[float]]


def measure(count: int) -> tuple[list[float], Samples, dict[str, list[tuple[float, float, int]]]]:
    """boto3, the peer and every function, interleaved: (boto3, {name: imports}, {name: first requests})."""
    targets = {**handlers(), **{name: peer(name) for name in PEERS}}
    baseline: list[float] = []
    samples: Samples = {name: [] for name in targets}
    first: dict[str, list[tuple[float, float, int]]] = {
        name: [] for name in (*FIRST_REQUESTS, *PEERS) if name in targets
    }
    for module, paths in targets.values():  # warm-up: byte-compile once, as the layer ships .pyc
        _sample(module, paths)
    for _ in range(count):
        baseline.append(_sample("boto3", [lambda_site_packages()]))
        for name, (module, paths) in targets.items():
            samples[name].append(_sample(module, paths))
        for name in first:
            first[name].append(_first_sample(name))
    return baseline, samples, first


def without_bytecode(logical_id: str, count: int) -> tuple[float, float]:
    """(median with .pyc, median from sources only) of one handler: Lambda compiles what the package lacks."""
    import shutil
    import tempfile

    module, paths = handlers()[logical_id]
    with tempfile.TemporaryDirectory() as temp:
        copy = [str(shutil.copytree(paths[0], f"{temp}/function")), f"{temp}/layer"]
        shutil.copytree(LAYER_DIR / "frontdesk", f"{temp}/layer/frontdesk")
        for cache in Path(temp).rglob("__pycache__"):
            shutil.rmtree(cache, ignore_errors=True)
        cached, fresh = [], []
        for _ in range(count):
            cached.append(_sample(module, paths))
            fresh.append(_sample(module, [*copy, paths[-1]], ["-B"]))
    return median(cached), median(fresh)


def ratio_rows(
    boto3_ms: float, imports: dict[str, float], first: dict[str, tuple[float, float, float, int]]
) -> list[Row]:
    """The verdicts from imports (ms) and first requests (import, invocation, total ms; status) by logical id.

    A validating HTTP function is held to PEER_RATIO x the peer (import and first request), every other function to
    TARGET_RATIO x `import boto3`; the peers' own rows, their ratio to the table peer and the other first requests
    are informational.
    """
    rows = [row("cold start: import boto3 (baseline)", boto3_ms, "ms")]
    for name, module in PEERS.items():
        if name in imports:
            label = f"cold start: {name} import (benchmarks/peer/{module}.py, {imports[name]:.0f} ms)"
            rows.append(row(label, imports[name] / boto3_ms, "x boto3"))
    peer_import, table_import = imports.get(PEER), imports.get(PEER_TABLE)
    for name, ms in imports.items():
        if name in PEERS:
            continue
        if name in VALIDATING and peer_import is not None:
            ratio = ms / peer_import
            label = f"cold start: {name} import ({ms:.0f} ms, {ms / boto3_ms:.2f}x boto3{_table(ms, table_import)})"
            rows.append(row(label, ratio, "x peer", f"<= {PEER_RATIO}x", ratio <= PEER_RATIO))
        else:
            ratio = ms / boto3_ms
            label = f"cold start: {name} import ({ms:.0f} ms)"
            rows.append(row(label, ratio, "x boto3", f"<= {TARGET_RATIO}x", ratio <= TARGET_RATIO))
    method, path, _, _ = PEER_REQUEST
    for name in PEERS:
        if name in first:
            imported, invoked, total, status = first[name]
            label = (
                f"first request: {name} import {imported:.0f} + {method} {path} {invoked:.0f} ms (answered {status})"
            )
            rows.append(row(label, total / boto3_ms, "x boto3"))
    peer_first = first[PEER][2] if PEER in first else None
    table_first = first[PEER_TABLE][2] if PEER_TABLE in first else None
    for name, (imported, invoked, total, status) in first.items():
        if name in PEERS:
            continue
        route_method, route_path, _, _ = FIRST_REQUESTS[name]
        label = (
            f"first request: {name} import {imported:.0f} + {route_method} {route_path} {invoked:.0f} ms"
            f" (answered {status}), {total / boto3_ms:.2f}x boto3{_table(total, table_first)}"
        )
        if peer_first is not None:
            ratio = total / peer_first
            rows.append(row(label, ratio, "x peer", f"<= {PEER_RATIO}x", ratio <= PEER_RATIO))
        else:
            rows.append(row(label, total / boto3_ms, "x boto3"))
    return rows


def _table(ms: float, table_ms: float | None) -> str:
    return f", {ms / table_ms:.2f}x peer+table" if table_ms else ""


def run() -> list[Row]:
    baseline, samples, first = measure(runs(11))
    imports = {name: median(values) * 1000 for name, values in samples.items()}
    firsts = {
        name: (
            median([v[0] for v in values]) * 1000,
            median([v[1] for v in values]) * 1000,
            median([v[0] + v[1] for v in values]) * 1000,
            values[-1][2],
        )
        for name, values in first.items()
    }
    rows = ratio_rows(median(baseline) * 1000, imports, firsts)
    if "StaffApiFunction" in samples:
        cached, fresh = without_bytecode("StaffApiFunction", runs(11))
        rows.append(row("cold start: StaffApiFunction from sources (no .pyc) vs with .pyc", fresh / cached, "x"))
    return rows


def explain(logical_id: str, top: int = 25) -> str:
    """The heaviest imports (cumulative) of one handler, from `python -X importtime` in the Lambda environment."""
    module, paths = handlers()[logical_id]
    code = _PROBE.format(paths=paths, module=module)
    result = subprocess.run(  # noqa: S603
        [base_python(), "-S", "-X", "importtime", "-c", code],
        env=lambda_environment(),
        cwd=str(ROOT),
        capture_output=True,
        text=True,
        check=True,
    )
    entries = []
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, own, cumulative, name = (part.strip() for part in line.replace("import time:", "|").split("|"))
        entries.append((int(cumulative), int(own), name))
    entries.sort(reverse=True)
    return "\n".join(
        f"{cum / 1000:8.1f} ms cumulative {own / 1000:7.1f} ms own  {name}" for cum, own, name in entries[:top]
    )


# What the handlers are made of, each in a fresh interpreter (`--parts`): where a handler's time goes.
PARTS = (
    "import boto3",
    "import botocore.session",
    "import pydantic",
    "import aws_lambda_powertools.event_handler",
    "from aws_lambda_powertools import Logger, Metrics, Tracer; Logger(); Metrics(); Tracer()",
    "import pynamodb.models",
    "import phonenumbers",
    "import jwt",
    "import frontdesk.http",
    "import frontdesk.store.base",
    "import frontdesk.services.patients",
    "import frontdesk.domain.phones",
    "import aws_xray_sdk.core",
    "import importlib.metadata; list(importlib.metadata.distributions())",
)


def parts(count: int) -> list[Row]:
    paths = [str(LAYER_DIR), lambda_site_packages()]
    samples: dict[str, list[float]] = {part: [] for part in PARTS}
    for _ in range(count):
        for part in PARTS:
            samples[part].append(_sample_code(part, paths))
    return [row(f"part: {part}", median(values) * 1000, "ms") for part, values in samples.items()]


def _sample_code(statement: str, paths: list[str]) -> float:
    code = f"import sys, time\nsys.path[:0] = {paths!r}\nstarted = time.perf_counter()\n{statement}\n"
    code += "print(time.perf_counter() - started)\n"
    result = subprocess.run(  # noqa: S603
        [base_python(), "-S", "-c", code], env=lambda_environment(), capture_output=True, text=True, check=True
    )
    return float(result.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--explain":
        print(explain(sys.argv[2]))
        sys.exit(0)
    if len(sys.argv) == 3 and sys.argv[1] == "--profile":  # where the first request's time goes (CPU clock)
        _first_sample(sys.argv[2], profile=60)
        sys.exit(0)
    if sys.argv[1:] == ["--parts"]:
        sys.exit(main(lambda: parts(runs(11))))
    sys.exit(main(run))
