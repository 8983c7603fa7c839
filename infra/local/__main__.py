"""`python -m infra.local`: start DynamoDB Local, moto's S3, and the HTTP API on 127.0.0.1:3000."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from infra.local.dynamodb import DynamoDBLocal, create_table, free_port, java_available, wait_until_ready
from infra.template import wiring

TABLE_NAME = "frontdesk-local"
IMPORTS_BUCKET = "frontdesk-local-imports"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m infra.local", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "3000")))
    parser.add_argument("--persist", type=Path, default=None, help="keep DynamoDB data in this folder")
    parser.add_argument("--dynamodb-port", type=int, default=None)
    parser.add_argument("--quiet", action="store_true", help="only warnings from the handlers' loggers")
    parser.add_argument(
        "--engine",
        choices=("auto", "dynamodb-local", "moto"),
        default="auto",
        help="DynamoDB engine: DynamoDB Local when Java has it (auto), or moto",
    )
    return parser.parse_args(argv)


def start_backends(args: argparse.Namespace) -> tuple[Any, DynamoDBLocal | None, str, str]:
    """DynamoDB Local (or moto when Java is missing) and a moto server for S3."""
    from moto.server import ThreadedMotoServer

    moto_port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=moto_port, verbose=False)
    moto.start()
    s3_endpoint = f"http://127.0.0.1:{moto_port}"
    if args.engine == "dynamodb-local" or (args.engine == "auto" and java_available()):
        engine = DynamoDBLocal(args.dynamodb_port, args.persist).start()
        return moto, engine, engine.endpoint, s3_endpoint
    if args.engine == "auto":
        print(
            "WARNING: Java or the DynamoDB Local engine is missing; falling back to moto for DynamoDB "
            "(less strict than AWS: run `make run` to install the engine).",
            file=sys.stderr,
        )
    wait_until_ready(s3_endpoint, 30)
    return moto, None, s3_endpoint, s3_endpoint


def configure_environment(dynamodb_endpoint: str, s3_endpoint: str) -> None:
    os.environ.update(
        {
            "FRONTDESK_ENV": "local",
            "TABLE_NAME": TABLE_NAME,
            "DYNAMODB_ENDPOINT": dynamodb_endpoint,
            "S3_ENDPOINT": s3_endpoint,
            "IMPORTS_BUCKET": IMPORTS_BUCKET,
            "EVENT_BUS_NAME": "frontdesk-local",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "POWERTOOLS_SERVICE_NAME": "frontdesk",
            "POWERTOOLS_METRICS_NAMESPACE": "frontdesk",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false",
            "POWERTOOLS_METRICS_DISABLED": "true",
        }
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if args.quiet:
        os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"
    moto, engine, dynamodb_endpoint, s3_endpoint = start_backends(args)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    server = None
    try:
        configure_environment(dynamodb_endpoint, s3_endpoint)
        from infra.local import secrets

        secrets.configure(s3_endpoint)  # template.yaml's secrets, in the same moto server (R-AUTH-5)
        from infra.local import cognito

        cognito.configure(s3_endpoint)  # the user pool of template.yaml, in the same moto server
        wired = wiring()
        create_table(dynamodb_endpoint, TABLE_NAME, wired.table)
        import boto3

        s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
        s3.create_bucket(Bucket=IMPORTS_BUCKET)

        from infra.local.server import Gateway, serve

        sqs = boto3.client("sqs", endpoint_url=s3_endpoint, region_name="us-east-1")
        gateway = Gateway(wired, IMPORTS_BUCKET, s3, sqs)
        server = serve(gateway, args.host, args.port)
        engine_name = "DynamoDB Local" if engine else "moto (no Java)"
        print(f"frontdesk local runner on http://{args.host}:{args.port}  ({engine_name} at {dynamodb_endpoint})")
        print("Ctrl-C stops it and everything it started.", flush=True)
        stop.wait()
    finally:
        if server is not None:
            server.shutdown()
        if engine is not None:
            engine.stop()
        moto.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
