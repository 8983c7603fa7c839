"""Scheduled conversation jobs: escalate overdue conversations (R-HOURS-3), remind unread staff replies
(R-HOURS-4)."""

from __future__ import annotations

import frontdesk.startup  # first: no garbage collection while the handler imports

# isort: split

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from frontdesk import jobs
from frontdesk.services import response_waits, unread_replies

logger = Logger()
tracer = Tracer()
metrics = Metrics()

JOBS: jobs.Jobs = {
    "escalate-overdue": (response_waits.escalate_overdue, "ConversationOverdue", "escalated"),
    "remind-unread": (unread_replies.remind_unread, "UnreadReplyReminded", "reminded"),
}


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """EventBridge Scheduler delivers the schedule's Input: {"job": "<name>"}. Both jobs are idempotent."""
    return jobs.run_named(JOBS, event, metrics, logger)


frontdesk.startup.done()
