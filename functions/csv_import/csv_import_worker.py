"""Import chunk worker: one SQS message per byte range of a large CSV (issue 5, item 7)."""

from __future__ import annotations

import frontdesk.startup  # first: no garbage collection while the handler imports

# isort: split

import json
from typing import Any

import phonenumbers  # noqa: F401 - every import normalises phones: at INIT, not in the first row (docs/performance.md)
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from frontdesk.domain.import_jobs import ChunkTask
from frontdesk.services.imports import engine

logger = Logger()
tracer = Tracer()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS)


def process_record(record: SQSRecord) -> None:
    engine.process_chunk(ChunkTask.from_dict(json.loads(record.body)))


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # A failed chunk goes back to the queue alone (ReportBatchItemFailures); processing it again is idempotent.
    return process_partial_response(event=event, record_handler=process_record, processor=processor, context=context)


frontdesk.startup.done()
