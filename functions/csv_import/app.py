"""CSV patient import: S3 ObjectCreated under imports/<practice_id>/ starts a job (R-IMPORT-1..5)."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.parser.models import S3Model
from aws_lambda_powertools.utilities.typing import LambdaContext

from frontdesk.services import imports

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
@event_parser(model=S3Model)
def lambda_handler(event: S3Model, context: LambdaContext) -> dict[str, Any]:
    import_id: str | None = None
    for record in event.Records:
        if record.s3.object is None:
            continue
        found = imports.S3Object(
            bucket=record.s3.bucket.name,
            key=unquote_plus(record.s3.object.key),  # S3 URL-encodes keys in events (PITFALLS)
            size=int(record.s3.object.size or 0),
            etag=(record.s3.object.eTag or "").strip('"'),
        )
        import_id = imports.start_import(found) or import_id
    return {"import_id": import_id}
