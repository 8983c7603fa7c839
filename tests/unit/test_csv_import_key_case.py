"""R-IMPORT-6: a `.CSV` key (any letter case) starts an import. S3 key filters are case-sensitive, so the template's
trigger filters on the prefix only and the handler checks the extension; the runner applies the same filter."""

from __future__ import annotations

from typing import Any

import pytest


def _module() -> Any:
    from infra.local.functions import load_module
    from infra.template import wiring

    return load_module(wiring().functions["CsvImportFunction"])


def test_r_import_6_the_s3_trigger_has_no_case_sensitive_suffix_rule() -> None:
    # Given the template (what AWS deploys and what the runner reads)
    from infra.template import wiring

    triggers = [t for t in wiring().s3_triggers if t.function == "CsvImportFunction"]
    # Then the import trigger matches every key under imports/, whatever its extension's case
    assert [(t.prefix, t.suffix) for t in triggers] == [("imports/", "")]


@pytest.mark.parametrize(
    ("key", "is_csv"),
    [
        ("imports/p/a.csv", True),
        ("imports/p/A.CSV", True),
        ("imports/p/a.Csv", True),
        ("imports/p/a.csv.txt", False),
        ("imports/p/a.xlsx", False),
        ("imports/p/csv", False),
    ],
)
def test_r_import_6_the_handler_reads_the_extension_in_any_case(key: str, is_csv: bool) -> None:
    assert _module().is_csv_key(key) is is_csv


def test_r_import_6_the_handler_ignores_an_object_that_is_not_a_csv(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a notification for a spreadsheet under imports/ (the trigger now delivers it)
    module = _module()
    started: list[Any] = []
    monkeypatch.setattr(module.import_start, "start_import", started.append)
    event = {"Records": [{"s3": {"bucket": {"name": "b"}, "object": {"key": "imports/p/a.xlsx", "size": 3}}}]}

    class Context:
        function_name, memory_limit_in_mb, aws_request_id = "f", 128, "r"
        invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:f"

    # When the handler runs, Then no import starts
    assert module.lambda_handler(event, Context()) == {"import_id": None}
    assert started == []


def test_r_sec_3_a_skipped_object_is_not_labelled_with_the_previous_objects_ids(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given one event with a CSV of practice pA (its import labels the log) and then a spreadsheet
    module = _module()

    def start(found: Any) -> str:
        module.logger.append_keys(practice_id="pA", import_id="i1")
        return "i1"

    keys_when_skipping: list[dict[str, Any]] = []
    info = module.logger.info

    def record_info(message: Any, *args: Any, **kwargs: Any) -> None:
        if "without a .csv extension" in str(message):
            keys_when_skipping.append(dict(module.logger.get_current_keys()))
        info(message, *args, **kwargs)

    monkeypatch.setattr(module.import_start, "start_import", start)
    monkeypatch.setattr(module.logger, "info", record_info)
    records = [
        {"s3": {"bucket": {"name": "b"}, "object": {"key": key, "size": 3}}}
        for key in ("imports/pA/a.csv", "imports/pA/b.xlsx")
    ]

    class Context:
        function_name, memory_limit_in_mb, aws_request_id = "f", 128, "r"
        invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:f"

    # When the handler runs
    module.lambda_handler({"Records": records}, Context())
    # Then the spreadsheet's line carries neither the practice nor the import of the CSV before it
    assert len(keys_when_skipping) == 1
    assert "practice_id" not in keys_when_skipping[0] and "import_id" not in keys_when_skipping[0]
