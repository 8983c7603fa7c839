"""`frontdesk import FILE --practice ID`: uploads a CSV to the imports bucket and follows the job to its end.
`frontdesk backfill-index-heads`: a one-off maintenance step (docs/data-model.md, IndexHead).
`frontdesk create-support-user --email E`: the first support user of a new stack (README, Deploying).

By default it talks to the local runner (http://127.0.0.1:3000): the bucket comes from GET /_local/config and
a staff token from POST /_local/tokens. Against AWS give --bucket (the upload uses your AWS credentials),
--api (the HTTP API's URL) and --token (a staff token), or FRONTDESK_API / FRONTDESK_TOKEN.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote

from frontdesk.domain.csv_rows import import_id_for

DEFAULT_API = "http://127.0.0.1:3000"
BAR_WIDTH = 30


def _request(method: str, url: str, body: Any = None, token: str | None = None, timeout: float = 30) -> Any:
    headers = {"Content-Type": "application/json"}
    data: Any = None
    if body is not None:
        data = json.dumps(body).encode()
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(_http_url(url), data=data, method=method, headers=headers)  # noqa: S310
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310  # nosec B310 - http(s) only
        return json.loads(response.read() or b"null")


def _http_url(url: str) -> str:
    """The CLI talks to an API over http(s) only: never file:// or another scheme urllib would open."""
    if not url.lower().startswith(("http://", "https://")):
        raise SystemExit(f"not an http(s) URL: {url.split('?')[0]}")
    return url


def _local_admin_token(api: str, practice_id: str) -> str:
    """Locally: a token of one of the practice's admins, signed in through the runner's user pool (the authorizer
    accepts staff tokens only for members the practice has)."""
    support = str(_request("POST", f"{api}/_local/tokens", {"role": "support"})["token"])
    members = _request("GET", f"{api}/staff?practice_id={quote(practice_id)}", token=support)["items"]
    admin = next((m for m in members if m["role"] == "admin" and m["status"] != "deactivated"), None)
    if admin is None:
        raise SystemExit("the practice has no active admin to import as: create one with POST /staff")
    body = {"role": "admin", "practice_id": practice_id, "staff_id": admin["staff_id"]}
    return str(_request("POST", f"{api}/_local/tokens", body)["token"])


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)  # S3's ETag of a single-part upload, not security
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


def _count_rows(path: Path) -> int:
    """An estimate for the bar (lines minus the header; quoted newlines make it slightly high)."""
    lines = 0
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1024 * 1024), b""):
            lines += block.count(b"\n")
    return max(lines - 1, 1)


def bar(done: int, total: int, status: str) -> str:
    fraction = 1.0 if status != "running" else min(done / total, 1.0) if total else 0.0
    filled = int(BAR_WIDTH * fraction)
    return f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {fraction:4.0%}  {done:,}/{total:,} rows  {status}"


def summary(job: dict[str, Any]) -> str:
    lines = [
        f"import {job['import_id']}: {job['status']}",
        f"  rows read {job['rows_read']:,}  created {job['created']:,}  updated {job['updated']:,}  "
        f"rejected {job['rejected']:,}  warnings {job['warnings']:,}  duplicates {job['duplicates']:,}",
    ]
    if job.get("error"):
        lines.append(f"  error: {job['error']}")
    if job.get("report_key"):
        lines.append(f"  report: {job['report_key']}")
    return "\n".join(lines)


def run_import(
    path: Path,
    practice_id: str,
    api: str,
    *,
    bucket: str | None = None,
    token: str | None = None,
    out: TextIO = sys.stdout,
    poll_seconds: float = 0.5,
    timeout_seconds: float = 3600,
) -> dict[str, Any]:
    api = api.rstrip("/")
    local = bucket is None
    if local:
        bucket = str(_request("GET", f"{api}/_local/config")["imports_bucket"])
        token = token or _local_admin_token(api, practice_id)
    assert bucket is not None
    key = f"imports/{practice_id}/{path.name}"
    total = _count_rows(path)
    failure: list[BaseException] = []
    if local:
        # The runner processes the import before the PUT answers: upload in the background, poll meanwhile.
        import_id = import_id_for(bucket, key, _md5(path))

        def upload() -> None:
            try:
                with path.open("rb") as body:
                    url = _http_url(f"{api}/_local/s3/{bucket}/{quote(key)}")
                    request = urllib.request.Request(  # noqa: S310
                        url, data=body, method="PUT", headers={"Content-Length": str(path.stat().st_size)}
                    )
                    urllib.request.urlopen(request, timeout=timeout_seconds).read()  # noqa: S310  # nosec B310
            except BaseException as error:  # reported once polling stops
                failure.append(error)

        uploader = threading.Thread(target=upload, daemon=True)
        uploader.start()
    else:
        from frontdesk.adapters.objects import upload_file

        import_id = import_id_for(bucket, key, upload_file(str(path), bucket, key))
        uploader = None
    deadline = time.monotonic() + timeout_seconds
    job: dict[str, Any] = {}
    while time.monotonic() < deadline:
        try:
            job = _request("GET", f"{api}/imports/{import_id}", token=token)
        except urllib.error.HTTPError as error:
            if error.code != 404:
                raise
            job = {}
        if job:
            out.write("\r" + bar(int(job["rows_read"]), total, job["status"]))
            out.flush()
            if job["status"] != "running":
                break
        elif failure or (uploader is not None and not uploader.is_alive()):
            break
        time.sleep(poll_seconds)
    out.write("\n")
    if failure and not job:
        raise RuntimeError(f"the upload failed: {failure[0]}")
    if not job:
        raise RuntimeError("the import did not start (is the file under a known practice?)")
    out.write(summary(job) + "\n")
    return job


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="frontdesk", description="frontdesk command line")
    commands = parser.add_subparsers(dest="command", required=True)
    importer = commands.add_parser("import", help="import patients from a CSV file")
    importer.add_argument("file", type=Path)
    importer.add_argument("--practice", required=True, help="the practice id")
    importer.add_argument("--api", default=os.environ.get("FRONTDESK_API", DEFAULT_API))
    importer.add_argument("--bucket", default=os.environ.get("FRONTDESK_IMPORTS_BUCKET"), help="AWS: the bucket")
    importer.add_argument("--token", default=os.environ.get("FRONTDESK_TOKEN"), help="AWS: a staff bearer token")
    commands.add_parser(
        "backfill-index-heads",
        help="once, after deploying over a table written before index heads existed (docs/data-model.md); "
        "uses TABLE_NAME and your AWS credentials",
    )
    support = commands.add_parser(
        "create-support-user",
        help="once per new stack: the first support user (Cognito emails the temporary password); "
        "uses your AWS credentials",
    )
    support.add_argument("--email", required=True)
    support.add_argument("--user-pool-id", default=os.environ.get("USER_POOL_ID"), help="the stack's UserPoolId output")
    support.add_argument("--endpoint-url", default=os.environ.get("COGNITO_ENDPOINT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.command == "create-support-user":
        if not args.user_pool_id:
            parser.error("give --user-pool-id (the stack's UserPoolId output) or USER_POOL_ID")
        from frontdesk.errors import Conflict
        from infra.maintenance import create_support_user  # the dev install's, not the layer's: not for Lambda

        try:
            create_support_user(args.email, args.user_pool_id, args.endpoint_url)
        except Conflict as taken:
            print(taken.message, file=sys.stderr)
            return 1
        print("support user created: Cognito has emailed the temporary password")
        return 0
    if args.command == "backfill-index-heads":
        from infra.maintenance import backfill_index_heads  # the dev install's, not the layer's: not for Lambda

        print(f"{backfill_index_heads()} index heads written")
        return 0
    if not args.file.is_file():
        parser.error(f"no such file: {args.file}")
    job = run_import(args.file, args.practice, args.api, bucket=args.bucket, token=args.token)
    return 0 if job.get("status") == "completed" else 1


if __name__ == "__main__":
    sys.exit(main())
