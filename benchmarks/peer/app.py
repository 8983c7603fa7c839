"""The cold-start peer of the validating HTTP functions (issue 13, item 6): the floor of the stack STYLE.md prescribes.

A minimal function as Powertools' examples write it: one APIGatewayHttpResolver with validation enabled, one pydantic
body model, Logger / Metrics / Tracer with the decorators in STYLE.md's order, one route. It is measured in the same
run as the functions (benchmarks/cold_start.py) and never deployed. Nothing of frontdesk is imported here, and
nothing is deferred: it is what any function of this stack pays before its own code.
"""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field

logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = APIGatewayHttpResolver(enable_validation=True)


class GreetingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)


class GreetingOut(BaseModel):
    greeting: str


@app.post("/greetings")
def greet(body: Annotated[GreetingIn, Body()]) -> GreetingOut:
    return GreetingOut(greeting=f"Hello, {body.name}")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
