"""CSV patient import: S3 ObjectCreated under imports/<practice_id>/ starts a job (R-IMPORT-1..5)."""

from __future__ import annotations

import frontdesk.startup  # first: no garbage collection while the handler imports

# isort: split

from typing import Any
from urllib.parse import unquote_plus

import phonenumbers  # noqa: F401 - every import normalises phones: at INIT, not in the first row (docs/performance.md)
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from frontdesk.domain.import_jobs import S3Object
from frontdesk.services.imports import start as import_start

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    import_id: str | None = None
    for found in s3_objects(event):
        # R-SEC-3: the previous object's ids (same event) never label this object's lines, the skip included
        logger.remove_keys(["practice_id", "import_id", "chunk"])
        if not is_csv_key(found.key):
            logger.info("object without a .csv extension ignored")  # the key is not logged: a name may be PHI
            continue
        import_id = import_start.start_import(found) or import_id
    return {"import_id": import_id}


def is_csv_key(key: str) -> bool:
    """R-IMPORT-6: `.csv` in any letter case. The S3 trigger filters on the prefix only, since S3 key filters are
    case-sensitive (a `.CSV` upload would never reach this function)."""
    return key.casefold().endswith(".csv")


def s3_objects(event: dict[str, Any]) -> list[S3Object]:
    """The objects of an S3 ObjectCreated notification, read by hand rather than with pydantic (Powertools' S3Model):
    pydantic was the biggest part of this function's cold start (docs/performance.md). A record without a bucket
    name or an object key raises (the invocation fails and is retried), as the model's validation did."""
    found = []
    for record in (event or {}).get("Records") or []:
        s3 = record["s3"]
        item = s3.get("object")
        if item is None:
            continue
        found.append(
            S3Object(
                bucket=str(s3["bucket"]["name"]),
                key=unquote_plus(str(item["key"])),  # S3 URL-encodes keys in events (PITFALLS)
                size=int(item.get("size") or 0),
                etag=str(item.get("eTag") or "").strip('"'),
            )
        )
    return found


frontdesk.startup.done()
