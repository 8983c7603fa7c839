"""R-SEC-3 (issue 12 item 8): no Logger key survives an invocation, in every function of the template - HTTP,
the authorizer, S3, SQS, EventBridge and schedules alike."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest

from infra.local import events
from infra.local.functions import context_for, load_module
from infra.template import wiring

WIRED = wiring()
HTTP_FUNCTIONS = {route.function: route for route in reversed(WIRED.routes)}


def _event_for(logical_id: str) -> dict[str, Any]:
    """An event the function really receives, cheap to answer (refused or empty): no table needed."""
    if logical_id in HTTP_FUNCTIONS:
        route = HTTP_FUNCTIONS[logical_id]
        path = route.path.replace("{", "").replace("}", "")
        event = events.http_event(route, route.method if route.method != "ANY" else "GET", path, "", {}, b"", {})
        if route.authorized:
            event["requestContext"]["authorizer"] = {"lambda": {"auth_error": "missing"}}
        return event
    if logical_id == WIRED.authorizer:
        route = next(r for r in WIRED.routes if r.authorized)
        return events.authorizer_event(events.http_event(route, route.method, route.path, "", {}, b"", {}))
    # S3, SQS: no records; EventBridge and schedules: an event the handler refuses
    return {"Records": []} if "Import" in logical_id else {"job": "no-such-job", "detail": {}}


LOGGED = [name for name, spec in WIRED.functions.items() if hasattr(load_module(spec), "logger")]


def test_every_function_but_the_api_document_logs_with_powertools() -> None:
    # Given the template's functions  Then each has a Logger (ApiDocs serves a static document and logs nothing)
    assert set(WIRED.functions) - set(LOGGED) == {"ApiDocsFunction"}
    assert {"AuthorizerFunction", "CsvImportFunction", "ImportChunkWorkerFunction", "RoutingFunction"} <= set(LOGGED)


@pytest.mark.parametrize("logical_id", LOGGED)
def test_r_sec_3_a_key_appended_by_one_invocation_is_gone_in_the_next(logical_id: str) -> None:
    spec = WIRED.functions[logical_id]
    module = load_module(spec)
    # Given an earlier invocation left practice A's ids on the function's logger
    module.logger.append_keys(practice_id="practice-A", patient_id="patient-A", import_id="import-A")
    # When the function is invoked again (for anyone: its outcome does not matter here)
    with contextlib.suppress(Exception):  # a refused event may raise: the keys are what this test reads
        module.lambda_handler(_event_for(logical_id), context_for(spec))
    # Then none of those keys is on its logger any more
    keys = module.logger.get_current_keys()
    assert not {"practice_id", "patient_id", "import_id"} & {k for k, v in keys.items() if v is not None}, keys
