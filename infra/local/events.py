"""Building the AWS events the runner delivers: HTTP API v2 requests, authorizer requests, S3 and schedules."""

from __future__ import annotations

import base64
import re
import time
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, quote_plus

from infra.template import HttpRoute

_PARAM = re.compile(r"\{([^}+]+)\+?\}")


def route_pattern(path: str) -> re.Pattern[str]:
    return re.compile(
        "^"
        + _PARAM.sub(lambda m: f"(?P<{m.group(1)}>[^/]+)", re.escape(path).replace(r"\{", "{").replace(r"\}", "}"))
        + "$"
    )


def match_route(routes: list[HttpRoute], method: str, path: str) -> tuple[HttpRoute, dict[str, str]] | None:
    """API Gateway's rule: literal segments beat parameters (/inboxes/unassigned/... before /inboxes/{id}/...)."""
    candidates = sorted(routes, key=lambda r: (r.path.count("{"), -len(r.path)))
    for route in candidates:
        if route.method != method:
            continue
        found = route_pattern(route.path).match(path)
        if found:
            return route, dict(found.groupdict().items())
    return None


def path_exists(routes: list[HttpRoute], path: str) -> bool:
    return any(route_pattern(r.path).match(path) for r in routes)


def http_event(
    route: HttpRoute,
    method: str,
    path: str,
    raw_query: str,
    headers: dict[str, str],
    body: bytes,
    path_parameters: dict[str, str],
) -> dict[str, Any]:
    now = datetime.now(UTC)
    route_key = f"{route.method} {route.path}"
    query: dict[str, str] = {}
    for key, value in parse_qsl(raw_query, keep_blank_values=True):
        query[key] = f"{query[key]},{value}" if key in query else value
    try:
        text, is_b64 = body.decode("utf-8"), False
    except UnicodeDecodeError:
        text, is_b64 = base64.b64encode(body).decode(), True
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": raw_query,
        "headers": {k.lower(): v for k, v in headers.items()},
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": "127.0.0.1",
            "domainPrefix": "local",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": headers.get("User-Agent", headers.get("user-agent", "")),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": route_key,
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(time.time() * 1000),
        },
        "isBase64Encoded": is_b64,
    }
    if query:
        event["queryStringParameters"] = query
    if path_parameters:
        event["pathParameters"] = path_parameters
    if body:
        event["body"] = text
    return event


def authorizer_event(http: dict[str, Any]) -> dict[str, Any]:
    """The HTTP API Lambda authorizer request (payload format 2.0)."""
    return {
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": f"arn:aws:execute-api:us-east-1:000000000000:local/$default/{http['routeKey'].replace(' ', '')}",
        "identitySource": [http["headers"]["authorization"]] if "authorization" in http["headers"] else [],
        "routeKey": http["routeKey"],
        "rawPath": http["rawPath"],
        "rawQueryString": http["rawQueryString"],
        "headers": http["headers"],
        "queryStringParameters": http.get("queryStringParameters"),
        "requestContext": http["requestContext"],
        "pathParameters": http.get("pathParameters"),
    }


def s3_put_event(bucket: str, key: str, size: int, etag: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "us-east-1",
                "eventTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                "eventName": "ObjectCreated:Put",
                "userIdentity": {"principalId": "local"},
                "requestParameters": {"sourceIPAddress": "127.0.0.1"},
                "responseElements": {"x-amz-request-id": uuid.uuid4().hex, "x-amz-id-2": uuid.uuid4().hex},
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "CsvUploaded",
                    "bucket": {
                        "name": bucket,
                        "ownerIdentity": {"principalId": "local"},
                        "arn": f"arn:aws:s3:::{bucket}",
                    },
                    # S3 URL-encodes keys in events (PITFALLS: unquote_plus them).
                    "object": {"key": quote_plus(key, safe="/"), "size": size, "eTag": etag, "sequencer": "0"},
                },
            }
        ]
    }


def sqs_event(queue: str, body: dict[str, Any]) -> dict[str, Any]:
    """An SQS event source delivery of one message (batch size 1)."""
    import json

    now_ms = str(int(time.time() * 1000))
    return {
        "Records": [
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": uuid.uuid4().hex,
                "body": json.dumps(body),
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": now_ms,
                    "SenderId": "local",
                    "ApproximateFirstReceiveTimestamp": now_ms,
                },
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:us-east-1:000000000000:{queue}",
                "awsRegion": "us-east-1",
            }
        ]
    }
