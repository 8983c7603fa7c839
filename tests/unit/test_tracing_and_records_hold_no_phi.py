"""Issue 6 item 10 (R-SEC-2): X-Ray never captures a response or an error message, and the records kept to
answer repeated requests hold ids only and expire."""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path

from infra.template import load_template

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted([*ROOT.glob("functions/**/*.py"), *ROOT.glob("layers/common/frontdesk/**/*.py")])


def test_r_sec_2_template_tells_every_tracer_not_to_capture_responses_or_errors() -> None:
    # Given the template  Then Globals switch response/error capture and event logging off
    template = load_template()
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    assert env["POWERTOOLS_TRACER_CAPTURE_RESPONSE"] == "false"
    assert env["POWERTOOLS_TRACER_CAPTURE_ERROR"] == "false"
    assert env["POWERTOOLS_LOGGER_LOG_EVENT"] == "false"
    # And no function turns any of them back on
    for name, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        own = ((resource.get("Properties") or {}).get("Environment") or {}).get("Variables") or {}
        for key in (
            "POWERTOOLS_TRACER_CAPTURE_RESPONSE",
            "POWERTOOLS_TRACER_CAPTURE_ERROR",
            "POWERTOOLS_LOGGER_LOG_EVENT",
        ):
            assert own.get(key, "false") == "false", (name, key)


def test_r_sec_2_every_tracer_decorator_in_code_passes_capture_response_false() -> None:
    # Given every tracer decorator in the functions and the layer  Then each says capture_response=False
    # (defence in depth: the env var is not set when a handler runs outside the template), and no code puts
    # metadata (free-form values) on a trace segment
    decorators, offending = 0, []
    for path in SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            if node.func.attr in ("capture_lambda_handler", "capture_method"):
                decorators += 1
                flags = {k.arg: getattr(k.value, "value", None) for k in node.keywords}
                if flags.get("capture_response") is not False:
                    offending.append(f"{path.relative_to(ROOT)}:{node.lineno}")
            if node.func.attr == "put_metadata":
                offending.append(f"{path.relative_to(ROOT)}:{node.lineno} put_metadata")
    assert decorators > 0
    assert offending == []


def test_r_rel_1_idempotency_record_holds_ids_only_hashes_the_client_key_and_expires() -> None:
    # Given a record of a first answer, keyed by a client-chosen key that could carry anything
    from frontdesk.store import idempotency as idempotency_store

    at = datetime(2026, 1, 1, tzinfo=UTC)
    key = "+16465550177 Zebulon"
    item = idempotency_store.idempotency_item("p1", "patient-message", key, {"message_id": "m1", "reason": None}, at)
    stored = item.serialize()
    # Then the key is hashed, the item holds only the practice, ids and times, and it expires in 7 days
    assert "6465550177" not in repr(stored) and "Zebulon" not in repr(stored)
    assert set(item.answer) <= {"message_id", "reason", "conversation_id"}
    assert item.expires_ttl == at + timedelta(seconds=idempotency_store.IDEMPOTENCY_TTL_SECONDS)
    assert idempotency_store.IDEMPOTENCY_TTL_SECONDS <= 7 * 24 * 3600
    assert set(stored) <= {"pk", "sk", "type", "practice_id", "answer", "created_at", "ttl"}


def test_r_rel_1_answers_saved_for_repeats_are_built_from_ids_only() -> None:
    # Given the services that save first answers  Then every saved answer is a dict literal of id-ish keys
    source = (ROOT / "layers/common/frontdesk/services/intake.py").read_text(encoding="utf-8")
    answers = [
        node.value
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "answer" for t in node.targets)
    ]
    assert answers, "intake saves first answers"
    for value in answers:
        assert isinstance(value, ast.Dict)
        keys = {k.value for k in value.keys if isinstance(k, ast.Constant)}
        assert keys <= {"message_id", "reason", "conversation_id"}, keys


def test_r_login_code_record_holds_a_salted_hash_never_the_code_and_expires() -> None:
    # Given the login-code item's attributes  Then no attribute holds a clear code or a name/DOB/body,
    # and a TTL is always set when a code is issued (store/login_codes.py put_login_code)
    from frontdesk.store.login_codes import LoginCodeItem

    attributes = set(LoginCodeItem.get_attributes())
    assert "code" not in attributes and {"code_hash", "salt"} <= attributes
    assert not attributes & {"first_name", "last_name", "date_of_birth", "body", "phone", "cell_phone"}
    source = (ROOT / "layers/common/frontdesk/store/login_codes.py").read_text(encoding="utf-8")
    assert "item.expires_ttl = max(expires, window[0] + SEND_WINDOW) + timedelta(hours=1)" in source
