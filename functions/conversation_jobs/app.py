"""Scheduled conversation jobs: escalate overdue conversations (R-HOURS-3), remind unread staff replies
(R-HOURS-4)."""

from __future__ import annotations

import frontdesk.startup  # first: no garbage collection while the handler imports

# isort: split

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from frontdesk.services import response_waits, unread_replies

logger = Logger()
tracer = Tracer()
metrics = Metrics()

JOBS: dict[str, tuple[Callable[[], dict[str, int]], str, str]] = {
    "escalate-overdue": (response_waits.escalate_overdue, "ConversationOverdue", "escalated"),
    "remind-unread": (unread_replies.remind_unread, "UnreadReplyReminded", "reminded"),
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
