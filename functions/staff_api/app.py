"""Staff API: practices, staff, patients, conversations, inboxes, routing settings, imports (one Lambda)."""

from __future__ import annotations

import frontdesk.startup  # first: no garbage collection while the handler imports

# isort: split

from typing import Any

import staff_conversations
import staff_credentials
import staff_hours
import staff_identity
import staff_imports
import staff_members
import staff_patients
import staff_practices
import staff_routing
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

import frontdesk.store.base  # noqa: F401 - every route reads the table (why at import: docs/performance.md)
from frontdesk.http import Access, make_resolver, resolve

logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = make_resolver()
ACCESS: Access = {}
for routes in (
    staff_practices,
    staff_members,
    staff_patients,
    staff_identity,
    staff_conversations,
    staff_routing,
    staff_imports,
    staff_credentials,
    staff_hours,
):
    app.include_router(routes.router)
    ACCESS.update(routes.ACCESS)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return resolve(app, ACCESS, event, context)


frontdesk.startup.done()
