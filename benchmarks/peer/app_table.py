"""The peer with the table (informational): benchmarks/peer/app.py plus one PynamoDB model read by its route.

Not the target's anchor (issue 13 fixed the peer without data access): it shows how far the validating functions
are from the stack STYLE.md prescribes once the store's library is in it. PynamoDB is imported at INIT, as every
function of ours that reads the table does; its route makes one GetItem (answered in memory by the benchmark).
"""

from __future__ import annotations

import os
from typing import Annotated, Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field
from pynamodb.attributes import UnicodeAttribute
from pynamodb.models import Model

logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = APIGatewayHttpResolver(enable_validation=True)


class GreetingItem(Model):
    class Meta:
        table_name = os.environ.get("TABLE_NAME", "peer")  # read when the class is defined (PynamoDB)
        region = os.environ.get("AWS_REGION", "us-east-1")

    pk = UnicodeAttribute(hash_key=True)
    greeting = UnicodeAttribute()


class GreetingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)


class GreetingOut(BaseModel):
    greeting: str


@app.post("/greetings")
def greet(body: Annotated[GreetingIn, Body()]) -> GreetingOut:
    try:
        return GreetingOut(greeting=GreetingItem.get(f"NAME#{body.name}").greeting)
    except GreetingItem.DoesNotExist:
        return GreetingOut(greeting=f"Hello, {body.name}")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
