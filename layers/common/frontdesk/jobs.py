"""Scheduled jobs: the schedule's Input names a job; run it, count its business event, log its figures (ids only)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

# name -> (the job, the metric of its business event, the result's key that counts that event)
Jobs = dict[str, tuple[Callable[[], dict[str, int]], str, str]]


def run_named(jobs: Jobs, event: dict[str, Any] | None, metrics: Metrics, logger: Logger) -> dict[str, int]:
    """EventBridge Scheduler delivers {"job": "<name>"}; every job is idempotent, so a second delivery is harmless."""
    job = str((event or {}).get("job", ""))
    if job not in jobs:
        logger.error("unknown job")
        raise ValueError("unknown job")
    run, metric, counted = jobs[job]
    result = run()
    metrics.add_metric(name=metric, unit=MetricUnit.Count, value=result.get(counted, 0))
    logger.info("job done", extra={"job": job, **result})
    return result
