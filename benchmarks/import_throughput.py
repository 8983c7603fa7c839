"""Import throughput and memory (issue 5 Performance): the real CSV import handler vs a bare BatchWriteItem loop.

`python -m benchmarks.import_throughput [--rows 100000] [--memory-rows 20000,200000]`

- Generates a realistic CSV (names, US and ISO dates, phones in many formats, MRNs, quoted commas, ~2% bad rows,
  ~3% probable duplicates), uploads it to a moto S3 server and imports it into DynamoDB Local through the
  CsvImportFunction handler exactly as the local runner delivers the S3 event (fan-out included).
- In the same run, a bare single-threaded BatchWriteItem loop writes as many items as the import wrote, of a
  similar size, to the same DynamoDB Local. Target: the import's item rate >= 60% of the bare rate (its rows/s is
  that rate divided by the items each row needs: profile, conversation, phone index, external id, name+DOB, audit).
- Peak memory (VmHWM, the peak RSS of a fresh process's own address space) of the import at 20,000 and 200,000
  rows. Target: < 25 MB apart.
Each import runs in its own subprocess so its peak memory is its own.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TABLE = "frontdesk-bench"
BUCKET = "frontdesk-bench-imports"
FIRST = ["Ana", "Bob", "Carla", "Dmitri", "Eve", "Farah", "José", "Li", "María", "Noah", "Olu", "Priya", "Quinn"]
LAST = ["Diaz", "Smith", "Nguyen", "O'Brien", "Müller", "Kim", "Okafor", "Rossi", "Cohen", "Patel", "Jones"]
AREAS = ["212", "312", "415", "617", "646", "718", "917", "206", "303", "512"]


def row(name: str, value: Any, unit: str, target: str = "", ok: bool | None = None) -> dict[str, Any]:
    return {"name": name, "value": value, "unit": unit, "target": target, "ok": ok}


def write_csv(path: Path, rows: int, seed: int = 5) -> None:
    """Streams the file to disk (the generator holds nothing but the last few rows)."""
    rng = random.Random(seed)
    recent: list[list[str]] = []
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["MRN", "First Name", "Last Name", "DOB", "Mobile", "Home Phone", "Email", "Notes"])
        for n in range(rows):
            first, last = rng.choice(FIRST), rng.choice(LAST) + str(rng.randint(1, 5000))
            year, month, day = rng.randint(1930, 2020), rng.randint(1, 12), rng.randint(1, 28)
            dob = f"{year}-{month:02d}-{day:02d}" if rng.random() < 0.6 else f"{month:02d}/{day:02d}/{year}"
            number = f"{rng.choice(AREAS)}{rng.randint(200, 999)}{rng.randint(1000, 9999)}"
            cell = rng.choice([f"({number[:3]}) {number[3:6]}-{number[6:]}", f"+1{number}", number, ""])
            home = f"{number[:3]}.{rng.randint(200, 999)}.{rng.randint(1000, 9999)}" if rng.random() < 0.2 else ""
            email = f"p{n}@example.org" if rng.random() < 0.5 else ""
            mrn = f"MRN{n:08d}" if rng.random() < 0.8 else ""
            notes = "allergies: none, prefers text" if rng.random() < 0.1 else ""
            kind = rng.random()
            if kind < 0.01:
                first = ""  # rejected: no name
            elif kind < 0.02:
                dob = "13/45/1999"  # rejected: bad DOB
            elif kind < 0.05 and recent:
                first, last, dob = rng.choice(recent)[:3]  # probable duplicate: same name + DOB
            record = [mrn, first, last, dob, cell, home, email, notes]
            recent = (recent + [[first, last, dob]])[-50:]
            writer.writerow(record)


# ---------- the child: one import, in its own process ----------


def peak_rss_kib() -> int:
    """This process's own peak RSS: VmHWM of its address space.

    Not getrusage's ru_maxrss: Linux carries it across exec, so a child started by a parent holding the generated
    CSV and the S3 server's copy of it reported the parent's size (200,000 rows "peaked" 55 MB higher before the
    import began)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def child(args: argparse.Namespace) -> None:
    os.environ.update(
        {
            "FRONTDESK_ENV": "local",
            "TABLE_NAME": TABLE,
            "DYNAMODB_ENDPOINT": args.dynamodb,
            "S3_ENDPOINT": args.s3,
            "IMPORTS_BUCKET": BUCKET,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_DISABLED": "true",
        }
    )
    import warnings

    import boto3

    warnings.simplefilter("ignore")
    from frontdesk.services.practices import create_practice
    from frontdesk.store.imports import get_job
    from infra.local.server import Gateway
    from infra.template import wiring

    s3 = boto3.client("s3", endpoint_url=args.s3, region_name="us-east-1")
    gateway = Gateway(wiring(), BUCKET, s3)
    practice = create_practice("Bench Practice", "US", f"+1212{random.randint(2000000, 9999999)}", False).practice_id
    key = f"imports/{practice}/bench-{args.rows}.csv"
    etag = s3.head_object(Bucket=BUCKET, Key=args.key)["ETag"]
    s3.copy_object(Bucket=BUCKET, Key=key, CopySource={"Bucket": BUCKET, "Key": args.key})
    size = s3.head_object(Bucket=BUCKET, Key=key)["ContentLength"]
    from frontdesk.store import batch

    written = [0]
    real_start = batch.start_batch_put

    def counting_start(items: Any) -> Any:
        batch = list(items)
        written[0] += len(batch)  # every call writes all its items or raises (then the import fails)
        return real_start(batch)

    # batch_put goes through start_batch_put too: this counts every item the import writes in batches.
    batch.start_batch_put = counting_start  # type: ignore[assignment]
    from frontdesk.store import patients as patients_store

    real_claim = patients_store.claim_external_ids

    def counting_claims(practice_id: str, claims: dict[str, str], at: Any) -> dict[str, str]:
        lost = real_claim(practice_id, claims, at)
        written[0] += len(claims) - len(lost)  # the external-id claims go out in transactions, not batches
        return lost

    patients_store.claim_external_ids = counting_claims  # type: ignore[assignment]
    baseline = peak_rss_kib()
    started = time.perf_counter()
    answer = gateway.deliver_s3_event(BUCKET, key, size, str(etag).strip('"'))
    seconds = time.perf_counter() - started
    peak = peak_rss_kib()
    job = get_job(practice, answer["import_id"], consistent=True)
    assert job is not None and job.status == "completed", job
    print(
        json.dumps(
            {
                "rows": args.rows,
                "seconds": seconds,
                "items": written[0],
                "peak_kib": peak,
                "baseline_kib": baseline,
                "chunks": job.chunks_total - 1,
                "counts": job.counts.as_dict(),
            }
        )
    )


# ---------- the parent ----------


def bare_batch_write(endpoint: str, items: int) -> float:
    """Items/s of a plain single-threaded BatchWriteItem loop (25 per request, unprocessed retried)."""
    import boto3

    ddb = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")
    filler = "x" * 150  # about the size of an imported item
    started = time.perf_counter()
    for start in range(0, items, 25):
        requests = [
            {
                "PutRequest": {
                    "Item": {
                        "pk": {"S": f"PRACTICE#bare#PATIENT#{n:012d}"},
                        "sk": {"S": "PROFILE"},
                        "type": {"S": "Bare"},
                        "practice_id": {"S": "bare"},
                        "payload": {"S": filler},
                        "created_at": {"S": "2026-11-24T00:00:00.000000+0000"},
                    }
                }
            }
            for n in range(start, min(start + 25, items))
        ]
        pending: dict[str, Any] = {TABLE: requests}
        while pending:
            pending = ddb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
    return items / (time.perf_counter() - started)


def import_in_child(dynamodb: str, s3_endpoint: str, rows: int, workdir: Path) -> dict[str, Any]:
    import boto3

    path = workdir / f"bench-{rows}.csv"
    write_csv(path, rows)
    key = f"sources/bench-{rows}.csv"
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1").upload_file(str(path), BUCKET, key)
    path.unlink()
    command = [sys.executable, "-m", "benchmarks.import_throughput", "--child", "--rows", str(rows)]
    command += ["--dynamodb", dynamodb, "--s3", s3_endpoint, "--key", key]
    done = subprocess.run(command, cwd=str(ROOT), capture_output=True, text=True, check=False)  # noqa: S603
    print(f"[bench] imported {rows:,} rows", file=sys.stderr, flush=True)
    if done.returncode != 0:
        raise RuntimeError(f"the import of {rows} rows failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def measure(rows: int, memory_rows: list[int]) -> list[dict[str, Any]]:
    from moto.server import ThreadedMotoServer

    from infra.local.dynamodb import DynamoDBLocal, create_table, free_port
    from infra.template import wiring

    engine = DynamoDBLocal(free_port()).start()
    moto_port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=moto_port, verbose=False)
    moto.start()
    s3_endpoint = f"http://127.0.0.1:{moto_port}"
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    try:
        import boto3

        create_table(engine.endpoint, TABLE, wiring().table)
        boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1").create_bucket(Bucket=BUCKET)
        with tempfile.TemporaryDirectory() as tmp:
            main_run = import_in_child(engine.endpoint, s3_endpoint, rows, Path(tmp))
            bare_rate = bare_batch_write(engine.endpoint, main_run["items"])
            memory = {
                n: main_run if n == rows else import_in_child(engine.endpoint, s3_endpoint, n, Path(tmp))
                for n in memory_rows
            }
    finally:
        moto.stop()
        engine.stop()
    rows_per_s = main_run["rows"] / main_run["seconds"]
    items_per_s = main_run["items"] / main_run["seconds"]
    items_per_row = main_run["items"] / max(main_run["counts"]["created"], 1)
    ratio = items_per_s / bare_rate
    out = [
        row(f"import: rows/s ({rows:,} rows, {main_run['chunks']} chunk(s))", rows_per_s, "rows/s"),
        row("import: items written/s", items_per_s, "items/s"),
        row("import: items per created row", items_per_row, "items"),
        row("bare BatchWriteItem loop: items/s (same item count)", bare_rate, "items/s"),
        row("bare loop: rows/s equivalent (items/s / items per row)", bare_rate / items_per_row, "rows/s"),
        row("import rate / bare rate", ratio * 100, "%", ">= 60%", ratio >= 0.6),
    ]
    counts = main_run["counts"]
    out.append(
        row(
            "import counts (read/created/updated/rejected/warnings/duplicates)",
            "/".join(str(counts[k]) for k in ("rows_read", "created", "updated", "rejected", "warnings", "duplicates")),
            "rows",
        )
    )
    peaks = {n: (m["peak_kib"]) / 1024 for n, m in memory.items()}
    for n, mib in peaks.items():
        out.append(row(f"import peak memory (peak RSS) at {n:,} rows", mib, "MiB"))
    if len(peaks) >= 2:
        spread = max(peaks.values()) - min(peaks.values())
        out.append(row("peak memory difference between sizes", spread, "MiB", "< 25 MB", spread * 1.048576 < 25))
    return out


def run(rows: int | None = None, memory_rows: list[int] | None = None) -> list[dict[str, Any]]:
    sizes = [20_000, 200_000] if memory_rows is None else memory_rows
    return measure(rows or int(os.environ.get("BENCH_IMPORT_ROWS", "100000")), sizes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.import_throughput", description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--memory-rows", default="20000,200000", help="sizes whose peak memory is compared")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--dynamodb", help=argparse.SUPPRESS)
    parser.add_argument("--s3", help=argparse.SUPPRESS)
    parser.add_argument("--key", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args)
        return 0
    rows = run(args.rows, [int(n) for n in args.memory_rows.split(",") if n])
    width = max(len(r["name"]) for r in rows)
    for r in rows:
        value = f"{r['value']:.1f}" if isinstance(r["value"], float) else str(r["value"])
        met = {True: "yes", False: "NO", None: "-"}[r["ok"]]
        print(f"{r['name']:<{width}}  {value:>12} {r['unit']:<8} {r['target'] or '-':<8} {met}")
    return 1 if any(r["ok"] is False for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
