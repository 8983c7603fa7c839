"""The runner's HTTP server: API Gateway (HTTP API) in front of the real handlers, plus the /_local surface.

Import this only after infra.local.__main__ (or a test) has set the environment: frontdesk reads its settings
when first imported.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from frontdesk import secrets as frontdesk_secrets
from frontdesk.auth import POOL_ROLES
from infra.local import cognito, events
from infra.local.functions import Throttled, concurrency, invoke
from infra.local.sns import LocalSns, inbound_sms
from infra.template import EventRule, Wiring

log = logging.getLogger("frontdesk.local")
MAX_REQUEST_BYTES = 64 * 1024 * 1024
# Connections the kernel holds while every thread is busy accepting: socketserver's default of 5 reset 5-10 % of a
# 20-client burst (issue 12 item 10); infra/loadtest.py at 50 clients sees none at 128.
LISTEN_BACKLOG = 128
THROTTLED = 429, {"Content-Type": "application/json"}, b'{"message":"Too Many Requests"}'


class Gateway:
    """Turns requests into events for the functions template.yaml wires, exactly as AWS would."""

    def __init__(self, wiring: Wiring, imports_bucket: str, s3_client: Any, sqs_client: Any = None) -> None:
        self.wiring = wiring
        self.imports_bucket = imports_bucket
        self.s3 = s3_client
        self.dead_letters = DeadLetterQueues(sqs_client)
        self._subscribe_event_rules()
        self._subscribe_queues()
        self.sns = LocalSns(wiring, self.dead_letters.park)

    def _subscribe_event_rules(self) -> None:
        from frontdesk.adapters.events import LOCAL_BUS

        LOCAL_BUS.clear_subscribers()
        for rule in self.wiring.rules:
            LOCAL_BUS.subscribe(rule.pattern, lambda event, rule=rule: self.deliver_event(rule, event))

    def deliver_event(self, rule: EventRule, event: dict[str, Any]) -> None:
        """EventBridge's delivery: retried as the rule's RetryPolicy says, then parked in the rule's DLQ."""
        spec = self.wiring.functions[rule.function]
        for _attempt in range(rule.max_retries + 1):
            try:
                invoke(spec, event)
                return
            except Exception as error:  # the handler failed: EventBridge would retry, then dead-letter
                log.warning("delivery to %s failed: %s", rule.function, type(error).__name__)
        if rule.dead_letter_queue:
            self.dead_letters.park(rule.dead_letter_queue, rule.function, event)

    def redrive(self, queue: str) -> dict[str, Any]:
        """Re-delivers every parked event of a DLQ to the function it was meant for (POST /_local/dlq/{q}/redrive)."""
        delivered = failed = 0
        for function, event, receipt in self.dead_letters.drain(queue):
            try:
                invoke(self.wiring.functions[function], event)
                delivered += 1
                self.dead_letters.delete(queue, receipt)
            except Exception:
                failed += 1
        return {"queue": queue, "redelivered": delivered, "failed": failed}

    def _subscribe_queues(self) -> None:
        """SQS event sources: a message sent locally is handed to its consumer before send() returns."""
        from frontdesk.adapters.queues import LOCAL_QUEUES

        LOCAL_QUEUES.clear_subscribers()
        for function, queue in self.wiring.sqs_triggers:
            spec = self.wiring.functions[function]
            LOCAL_QUEUES.subscribe(queue, lambda body, spec=spec, queue=queue: _deliver_sqs(spec, queue, body))

    # ----- HTTP API -----
    def handle_api(self, method: str, raw_path: str, query: str, headers: dict[str, str], body: bytes) -> tuple:
        path = unquote(raw_path)
        found = events.match_route(self.wiring.routes, method, path)
        if found is None:
            # What API Gateway itself answers for a route it does not have.
            return 404, {"Content-Type": "application/json"}, b'{"message":"Not Found"}'
        route, params = found
        event = events.http_event(route, method, raw_path, query, headers, body, params)
        if route.authorized and self.wiring.authorizer:
            try:
                decision = invoke(self.wiring.functions[self.wiring.authorizer], events.authorizer_event(event))
            except Throttled:
                return THROTTLED
            if not decision.get("isAuthorized"):
                return 403, {"Content-Type": "application/json"}, b'{"message":"Forbidden"}'
            event["requestContext"]["authorizer"] = {"lambda": decision.get("context") or {}}
        try:
            result = invoke(self.wiring.functions[route.function], event)
        except Throttled:
            return THROTTLED  # what API Gateway answers when Lambda throttles the function
        except Exception:
            log.exception("handler %s raised", route.function)
            return 500, {"Content-Type": "application/json"}, b'{"message":"Internal Server Error"}'
        return _http_result(result)

    # ----- /_local -----
    def handle_local(self, method: str, path: str, query: str, body: bytes) -> tuple[int, Any]:
        from frontdesk.adapters.clock import LOCAL_CLOCK, iso, parse_iso
        from frontdesk.adapters.sms import LOCAL_OUTBOX

        payload = _json(body)
        if path == "/_local/health" and method == "GET":
            return 200, {"status": "ok"}  # the readiness probe: answers once the whole runner is up
        if path == "/_local/concurrency" and method == "GET":
            return 200, {"functions": concurrency()}
        if path == "/_local/tokens" and method == "POST" and payload.get("role") == "integration":
            return self.integration_token(payload)
        if path == "/_local/tokens" and method == "POST":
            if str(payload.get("role", "")) in POOL_ROLES:
                return cognito.mint_response(payload)
            return 200, {"token": _mint_token(payload)}
        if path == "/_local/mail" and method == "GET":
            return cognito.mail_response(query)
        if path == "/_local/outbox" and method == "GET":
            to = (parse_qs(query).get("to") or [None])[0]
            return 200, {"items": [entry.as_dict() for entry in LOCAL_OUTBOX.messages(to)]}
        if path == "/_local/clock" and method == "GET":
            return 200, {"now": iso(LOCAL_CLOCK.now())}
        if path == "/_local/clock" and method == "POST":
            if "advance_seconds" in payload:
                return 200, {"now": iso(LOCAL_CLOCK.advance(float(payload["advance_seconds"])))}
            if "now" in payload:
                return 200, {"now": iso(LOCAL_CLOCK.set(parse_iso(str(payload["now"]))))}
            return 400, _error("validation_error", "Give advance_seconds or now.")
        if path == "/_local/config" and method == "GET":
            return 200, {
                "imports_bucket": self.imports_bucket,
                "webhook_secret": frontdesk_secrets.get("webhook"),
                "now": iso(LOCAL_CLOCK.now()),
                **cognito.config(),
            }
        if path.startswith("/_local/jobs/") and path.endswith("/run") and method == "POST":
            return self.run_job(path.removeprefix("/_local/jobs/").removesuffix("/run"))
        if path.startswith("/_local/dlq/") and method == "GET":
            queue = path.removeprefix("/_local/dlq/")
            return 200, {"queue": queue, "items": self.dead_letters.peek(queue)}
        if path.startswith("/_local/dlq/") and path.endswith("/redrive") and method == "POST":
            return 200, self.redrive(path.removeprefix("/_local/dlq/").removesuffix("/redrive"))
        if path == "/_local/sms/inbound" and method == "POST":
            return inbound_sms(self.sns, payload, LOCAL_CLOCK.now())
        if path.startswith("/_local/s3/") and method == "PUT":
            bucket, _, key = path.removeprefix("/_local/s3/").partition("/")
            return self.put_object(bucket, key, body)
        return 404, _error("not_found", "No such local route.")

    def integration_token(self, payload: dict[str, Any]) -> tuple[int, Any]:
        """An integration bearer the AWS way (R-AUTH-4): a client credential of the practice, exchanged at
        POST /integrations/token (OAuth 2.0 client credentials, HTTP Basic) through the template's route."""
        from frontdesk.adapters.clock import LOCAL_CLOCK
        from frontdesk.auth import Principal
        from frontdesk.services import credentials

        practice_id = str(payload.get("practice_id") or "")
        if not practice_id:
            return 400, _error("validation_error", "An integration token needs a practice_id.")
        admin = Principal(sub="local-runner", role="admin", practice_id=practice_id, staff_id="local-runner")
        created = credentials.create(admin, "local runner", LOCAL_CLOCK.now())
        basic = base64.b64encode(f"{created.credential.client_id}:{created.client_secret}".encode()).decode()
        headers = {"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"}
        status, _, body = self.handle_api("POST", "/integrations/token", "", headers, b"grant_type=client_credentials")
        answer = json.loads(body or b"{}")
        if status != 200:
            return status, answer
        return 200, {"token": answer["access_token"], "credential_id": created.credential.credential_id}

    def run_job(self, job: str) -> tuple[int, Any]:
        schedule = next((s for s in self.wiring.schedules if s.name == job), None)
        if schedule is None:
            return 404, _error("not_found", f"No scheduled job named {job}.")
        # EventBridge Scheduler delivers the schedule's Input as the event.
        result = invoke(self.wiring.functions[schedule.function], dict(schedule.input))
        return 200, {"job": job, "result": result}

    def put_object(self, bucket: str, key: str, body: bytes) -> tuple[int, Any]:
        key = unquote(key)
        if not bucket or not key:
            return 400, _error("validation_error", "Give /_local/s3/<bucket>/<key>.")
        etag = str(self.s3.put_object(Bucket=bucket, Key=key, Body=body)["ETag"]).strip('"')
        return 200, self.deliver_s3_event(bucket, key, len(body), etag)

    def deliver_s3_event(self, bucket: str, key: str, size: int, etag: str) -> dict[str, Any]:
        answer: dict[str, Any] = {}
        if bucket != self.imports_bucket:
            return answer
        for trigger in self.wiring.s3_triggers:
            if key.startswith(trigger.prefix) and key.endswith(trigger.suffix):
                result = invoke(self.wiring.functions[trigger.function], events.s3_put_event(bucket, key, size, etag))
                if isinstance(result, dict) and result.get("import_id"):
                    answer["import_id"] = result["import_id"]
        return answer


def _deliver_sqs(spec: Any, queue: str, body: dict[str, Any]) -> None:
    result = invoke(spec, events.sqs_event(queue, body))
    failures = (result or {}).get("batchItemFailures") if isinstance(result, dict) else None
    if failures:
        # AWS would redeliver after the visibility timeout; locally the failure surfaces at once.
        raise RuntimeError(f"{spec.logical_id} failed a message of {queue}")


class DeadLetterQueues:
    """The template's DLQs as moto SQS queues named after their logical ids."""

    def __init__(self, sqs: Any) -> None:
        self._sqs = sqs
        self._urls: dict[str, str] = {}
        self._lock = threading.Lock()

    def _url(self, queue: str) -> str:
        with self._lock:
            if queue not in self._urls:
                self._urls[queue] = self._sqs.create_queue(QueueName=queue)["QueueUrl"]
            return self._urls[queue]

    def park(self, queue: str, function: str, event: dict[str, Any]) -> None:
        body = json.dumps({"function": function, "event": event})
        self._sqs.send_message(QueueUrl=self._url(queue), MessageBody=body)

    def drain(self, queue: str) -> list[tuple[str, dict[str, Any], str]]:
        messages = self._receive(queue)
        return [(m["body"]["function"], m["body"]["event"], m["receipt"]) for m in messages]

    def peek(self, queue: str) -> list[dict[str, Any]]:
        """Up to 10 parked events, left in the queue."""
        items = []
        batch = self._sqs.receive_message(QueueUrl=self._url(queue), MaxNumberOfMessages=10, VisibilityTimeout=0)
        for message in ({"body": json.loads(m["Body"])} for m in batch.get("Messages", [])):
            event = message["body"]["event"]
            items.append(
                {
                    "function": message["body"]["function"],
                    "detail_type": event.get("detail-type"),
                    "id": event.get("id"),
                }
            )
        return items

    def delete(self, queue: str, receipt: str) -> None:
        self._sqs.delete_message(QueueUrl=self._url(queue), ReceiptHandle=receipt)

    def _receive(self, queue: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        while True:
            batch = self._sqs.receive_message(
                QueueUrl=self._url(queue), MaxNumberOfMessages=10, VisibilityTimeout=60, WaitTimeSeconds=0
            ).get("Messages", [])
            if not batch:
                return found
            found.extend({"body": json.loads(m["Body"]), "receipt": m["ReceiptHandle"]} for m in batch)


def _mint_token(payload: dict[str, Any]) -> str:
    from frontdesk.adapters.clock import LOCAL_CLOCK
    from frontdesk.auth import Principal, issue_token
    from frontdesk.settings import get_settings

    role = str(payload.get("role", ""))
    subject = payload.get("staff_id") or payload.get("patient_id") or payload.get("sub") or f"{role}-local"
    principal = Principal(
        sub=str(subject),
        role=role,
        practice_id=payload.get("practice_id"),
        staff_id=payload.get("staff_id"),
        patient_id=payload.get("patient_id"),
    )
    ttl = int(payload.get("ttl_seconds") or get_settings().token_ttl_seconds)
    return issue_token(principal, frontdesk_secrets.get("jwt"), LOCAL_CLOCK.now(), ttl)


def _http_result(result: Any) -> tuple[int, dict[str, str], bytes]:
    """The HTTP API v2 response format, including the shortcut of a bare dict body."""
    if not isinstance(result, dict) or "statusCode" not in result:
        return 200, {"Content-Type": "application/json"}, json.dumps(result).encode()
    headers = {str(k): str(v) for k, v in (result.get("headers") or {}).items()}
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers[name] = ",".join(str(v) for v in values)
    raw = result.get("body") or ""
    body = base64.b64decode(raw) if result.get("isBase64Encoded") else str(raw).encode()
    return int(result["statusCode"]), headers, body


def _json(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body or b"{}")
    except (ValueError, RecursionError):  # a 1,000-deep body must not make the control surface a 500 either
        return {}
    return value if isinstance(value, dict) else {}


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


class _RequestHandler(BaseHTTPRequestHandler):
    gateway: Gateway
    protocol_version = "HTTP/1.1"
    # Headers and body leave in two writes: without TCP_NODELAY, Nagle holds the body until the client's delayed
    # ACK (~40 ms on Linux loopback) - every keep-alive request would pay it.
    disable_nagle_algorithm = True

    def _serve(self) -> None:
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_REQUEST_BYTES:
            self._send(413, {"Content-Type": "application/json"}, b'{"message":"Request Entity Too Large"}')
            return
        body = self.rfile.read(length) if length else b""
        if split.path.startswith("/_local/"):
            try:
                status, payload = self.gateway.handle_local(self.command, split.path, split.query, body)
            except Exception:
                log.exception("local route %s failed", split.path)
                status, payload = 500, _error("internal_error", "The local runner failed; see its output.")
            self._send(status, {"Content-Type": "application/json"}, json.dumps(payload).encode())
            return
        headers = dict(self.headers.items())
        status, out_headers, out_body = self.gateway.handle_api(self.command, split.path, split.query, headers, body)
        self._send(status, out_headers, out_body)

    def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() not in ("content-length", "connection"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def __getattr__(self, name: str) -> Any:
        # Every method reaches the gateway (QUERY, TRACE…), which answers as API Gateway does: 404 if no route.
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        # Method, path and status only: paths carry ids, never PHI (API.md conventions).
        log.debug("%s %s", self.command, urlsplit(self.path).path)


class _Server(ThreadingHTTPServer):
    request_queue_size = LISTEN_BACKLOG  # the listen() backlog


def serve(gateway: Gateway, host: str, port: int) -> ThreadingHTTPServer:
    handler = type("Handler", (_RequestHandler,), {"gateway": gateway})
    server = _Server((host, port), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="frontdesk-http", daemon=True)
    thread.start()
    return server
