"""Routes: CSV import jobs and probable duplicates."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from frontdesk.http import Access

router = APIGatewayHttpRouter()
ACCESS: Access = {}
