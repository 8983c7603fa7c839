"""Routes: staff actions on a patient's identity - date of birth, DOB lock, merge, audit trail."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from frontdesk.http import Access

router = APIGatewayHttpRouter()
ACCESS: Access = {}
