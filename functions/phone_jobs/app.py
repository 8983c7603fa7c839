"""Scheduled phone-change jobs: expire requests after 72 hours (R-PHONE-3), remind before (R-PHONE-6)."""

from __future__ import annotations

import frontdesk.startup  # first: no garbage collection while the handler imports

# isort: split

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from frontdesk.services import phone_change as service

logger = Logger()
tracer = Tracer()
metrics = Metrics()

JOBS: dict[str, tuple[Callable[[], dict[str, int]], str, str]] = {
    "expire-phone-requests": (service.expire_due, "PhoneChangeExpired", "expired"),
    "remind-phone-requests": (service.remind_pending, "PhoneChangeReminded", "reminded"),
}


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """EventBridge Scheduler delivers the schedule's Input: {"job": "<name>"}. Both jobs are idempotent."""
    job = str((event or {}).get("job", ""))
    if job not in JOBS:
        logger.error("unknown job")
        raise ValueError("unknown job")
    run, metric, counted = JOBS[job]
    result = run()
    metrics.add_metric(name=metric, unit=MetricUnit.Count, value=result.get(counted, 0))
    logger.info("job done", extra={"job": job, **result})
    return result


frontdesk.startup.done()
