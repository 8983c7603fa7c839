"""Scheduled phone-change jobs: expire requests after 72 hours (R-PHONE-3), remind before (R-PHONE-6)."""

from __future__ import annotations

import frontdesk.startup  # first: no garbage collection while the handler imports

# isort: split

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from frontdesk import jobs
from frontdesk.services import phone_change as service

logger = Logger()
tracer = Tracer()
metrics = Metrics()

JOBS: jobs.Jobs = {
    "expire-phone-requests": (service.expire_due, "PhoneChangeExpired", "expired"),
    "remind-phone-requests": (service.remind_pending, "PhoneChangeReminded", "reminded"),
}


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """EventBridge Scheduler delivers the schedule's Input: {"job": "<name>"}. Both jobs are idempotent."""
    return jobs.run_named(JOBS, event, metrics, logger)


frontdesk.startup.done()
