"""R-API-1 in the shared HTTP layer: JSON depth measured without recursion, field paths, the byte ceiling."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from frontdesk.http import MAX_BODY_BYTES, MAX_JSON_DEPTH, describe_validation_error, field_path, json_depth_exceeds

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet=st.sampled_from('ab"\\[]{}\n\u00e9\U0001f600')),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=40,
)


def _depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    return 0


@given(json_values, st.integers(min_value=0, max_value=8), st.booleans())
def test_r_api_1_depth_on_the_raw_text_matches_the_parsed_depth(value: Any, limit: int, ascii_only: bool) -> None:
    # Given any JSON value (brackets and quotes inside strings included), When its text is measured
    text = json.dumps(value, ensure_ascii=ascii_only)
    # Then it exceeds the limit exactly when the parsed value nests deeper than the limit
    assert json_depth_exceeds(text, limit) == (_depth(value) > limit)


def test_r_api_1_a_1000_deep_body_is_refused_cheaply() -> None:
    # Given ~2 kB nested 1,000 levels (and a 160 kB body of shallow pairs, the worst case that is not refused early)
    deep = '{"a": ' + "[" * 1000 + "]" * 1000 + "}"
    shallow = "[" + ",".join(["[]"] * (MAX_BODY_BYTES // 3)) + "]"
    started = time.perf_counter()
    for _ in range(100):
        assert json_depth_exceeds(deep)
    deep_ms = (time.perf_counter() - started) * 1000 / 100
    started = time.perf_counter()
    assert not json_depth_exceeds(shallow)
    shallow_ms = (time.perf_counter() - started) * 1000
    # Then the deep one is refused after 33 brackets, well under a millisecond; the shallow one stays cheap
    assert deep_ms < 1, deep_ms
    assert shallow_ms < 500, shallow_ms


def test_r_api_1_32_levels_pass_and_33_do_not() -> None:
    assert not json_depth_exceeds("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH)
    assert json_depth_exceeds("[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1))
    assert not json_depth_exceeds('"' + "[" * 100 + '"')  # brackets in a string are text


def test_r_api_1_field_paths_name_what_the_client_sent() -> None:
    assert field_path(["reasons", 0]) == "reasons[0]"
    assert field_path(["items", 2, "location_id"]) == "items[2].location_id"
    assert field_path([]) is None
    # A field called `body` (a message's text) is a field, not the location "body"
    assert describe_validation_error([{"type": "string_too_short", "loc": ("body", "body")}])[0] == "body"
    assert describe_validation_error([{"type": "string_too_short", "loc": ("body", "reasons", 0)}])[0] == "reasons[0]"
    assert describe_validation_error([{"type": "int_parsing", "loc": ("query", "limit")}])[0] == "limit"


def _capped_models() -> list[type[BaseModel]]:
    """The request models of the routes that refuse a body over MAX_BODY_BYTES with a 413."""
    from infra.local.functions import load_module
    from infra.template import wiring

    functions = wiring().functions
    intake = load_module(functions["MessageIntakeFunction"])
    load_module(functions["StaffApiFunction"])
    conversations = sys.modules["staff_conversations"]
    return [intake.PatientMessageIn, intake.SmsIn, intake.VoicemailIn, conversations.ReplyIn]


def _worst_case(model: type[BaseModel]) -> dict[str, Any]:
    """Every text field at its character limit, in the character JSON spells longest (a 12-byte escape pair)."""
    body: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        limit = next((m.max_length for m in info.metadata if getattr(m, "max_length", None)), None)
        if limit:
            body[info.alias or name] = "\U0001f600" * limit
    return body


def test_r_api_1_the_byte_ceiling_admits_any_text_within_its_character_limits() -> None:
    for model in _capped_models():
        # Given every text field of a capped route's body at its character limit, escaped as ASCII JSON
        worst = json.dumps(_worst_case(model), ensure_ascii=True).encode()
        # Then the body is within the byte ceiling (a 413 never refuses text the schema allows)
        assert len(worst) <= MAX_BODY_BYTES, (model.__name__, len(worst))


def test_r_api_1_models_that_share_a_name_share_a_schema() -> None:
    # Given every model the handlers declare (the OpenAPI document keys its components by class name)
    from frontdesk.schemas import ApiModel
    from infra.local.functions import load_module
    from infra.template import wiring

    by_name: dict[str, dict[str, Any]] = {}
    modules = [load_module(spec) for spec in wiring().functions.values() if spec.code_dir.exists()]
    modules += [m for name, m in list(sys.modules.items()) if name.startswith("staff_")]
    for module in modules:
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, ApiModel) and value.__module__ == module.__name__:
                schema = value.model_json_schema()
                # Then two models of one name have one schema (else one route's document shows the other's body:
                # POST /patient/dob-verification was documented with the staff route's practice_id)
                assert by_name.setdefault(value.__name__, schema) == schema, value.__name__
