"""Patient login with one-time SMS codes and DOB verification."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from frontdesk.http import Access, make_resolver, resolve

logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = make_resolver()
ACCESS: Access = {}


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return resolve(app, ACCESS, event, context)
