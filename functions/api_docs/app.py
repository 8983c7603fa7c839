"""Serves the API's OpenAPI document (generated from the handlers' routes by `make openapi`)."""

from __future__ import annotations

import frontdesk.startup  # first: no garbage collection while the handler imports

# isort: split

from importlib import resources
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext


def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    document = resources.files("frontdesk").joinpath("openapi.json").read_text(encoding="utf-8")
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": document}


frontdesk.startup.done()
