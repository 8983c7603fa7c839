"""Issue 7: the benchmark table and the budgets it reads (no benchmark runs in make test)."""

from __future__ import annotations

import pytest

from benchmarks.common import failed, format_table, percentile, row


def test_table_shows_each_figure_with_unit_target_and_verdict() -> None:
    # Given one met, one missed and one informational figure  When formatted  Then one aligned line each
    rows = [
        row("cold start: A", 1.2, "x boto3", "<= 1.5x", True),
        row("requests: B", 3, "requests", "<= 2", False),
        row("latency p50: C", 123.456, "ms"),
    ]
    lines = format_table(rows).splitlines()
    assert lines[0].split() == ["figure", "value", "unit", "target", "met?"]
    assert len(lines) == 2 + len(rows)
    assert lines[2].split()[-3:] == ["<=", "1.5x", "yes"] and "1.20" in lines[2]
    assert lines[3].endswith("NO") and " 3 " in lines[3]
    assert lines[4].split()[-3:] == ["ms", "-", "-"] and "123" in lines[4]
    assert len({len(line) for line in lines[:2]}) == 1
    assert failed(rows) == [rows[1]]


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 95) == 95.0
    assert percentile([7.0], 95) == 7.0


def test_every_access_pattern_of_the_data_model_has_a_budget_the_benchmark_reads() -> None:
    # Given docs/data-model.md  Then A1..A31 each have a budget (a figure, or a formula such as "~ rows/25"),
    # and every measured operation's pattern has a figure (or the operation states the formula's value)
    from benchmarks.dynamodb_requests import budgets
    from benchmarks.requests_per_operation import OPERATIONS

    found = budgets()
    assert sorted(found, key=lambda a: int(a[1:])) == [f"A{i}" for i in range(1, len(found) + 1)]
    assert len(found) >= 31
    assert all(base is not None and base >= 1 for base, cell in found.values() if "/" not in cell)
    assert all(found[operation.pattern][0] is not None or operation.budget is not None for operation in OPERATIONS)


def test_a_job_is_compared_per_item_it_handled() -> None:
    # Given a job run that made 11 requests while reminding 5 requests  Then its figure is 11 / 5 per item
    from benchmarks.dynamodb_requests import Requests

    requests = Requests(operations=["Query", *["UpdateItem", "GetItem"] * 5], per=5)
    assert requests.per_item == 2.2
    assert requests.per_text() == "; 11 for 5 items"
    assert Requests(operations=["GetItem"]).per_text() == ""


def test_item_kind_names_the_sort_key_prefix_never_an_id() -> None:
    # Given request parameters with keys holding ids (and phone numbers)  Then only the item's kind is kept
    from benchmarks.dynamodb_requests import item_kind

    assert item_kind({"Key": {"pk": {"S": "PRACTICE#p1"}, "sk": {"S": "PHONEREQ#r1"}}}) == "PHONEREQ"
    assert item_kind({"Item": {"pk": {"S": "PHONE#+12125550123"}, "sk": {"S": "PROFILE"}}}) == "PROFILE"
    assert item_kind({"IndexName": "gsi3", "KeyConditionExpression": "x"}) == "gsi3"
    assert item_kind({"TransactItems": []}) == ""


def test_every_operation_of_the_requests_benchmark_has_a_distinct_name() -> None:
    from benchmarks.requests_per_operation import OPERATIONS

    names = [operation.name for operation in OPERATIONS]
    assert len(names) == len(set(names))


def test_help_prints_the_usage_and_every_benchmark_name(capsys: pytest.CaptureFixture[str]) -> None:
    # Given `python -m benchmarks --help`  When parsed  Then the usage and each benchmark's name are printed, exit 0
    from benchmarks.__main__ import MODULES, main

    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    printed = capsys.readouterr().out
    assert printed.startswith("usage: python -m benchmarks")
    assert all(f"  {name} " in printed for name in MODULES)


def test_an_unknown_benchmark_name_is_rejected_with_exit_2_before_anything_runs(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given one known and one unknown name  When main runs  Then it exits 2 naming the unknown one, and runs nothing
    import benchmarks.__main__ as entry

    ran: list[str] = []
    monkeypatch.setattr(entry, "run_module", lambda name: ran.append(name) or [])
    with pytest.raises(SystemExit) as exited:
        entry.main(["cold_start", "not_a_benchmark"])
    assert exited.value.code == 2
    assert "unknown benchmark not_a_benchmark" in capsys.readouterr().err
    assert ran == []


def test_the_named_benchmarks_run_in_the_order_given(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given two names  When main runs (each module stubbed to one informational row)  Then both ran, in that order
    import benchmarks.__main__ as entry

    ran: list[str] = []
    monkeypatch.setattr(entry, "run_module", lambda name: ran.append(name) or [row(name, 1, "x")])
    assert entry.main(["scaling", "cold_start"]) == 0
    assert ran == ["scaling", "cold_start"]


def test_the_benchmark_list_is_every_module_of_benchmarks_with_a_run() -> None:
    # Given benchmarks/*.py  Then the modules defining run() are exactly MODULES (none missing, none absent)
    import ast
    from pathlib import Path

    from benchmarks.__main__ import MODULES

    folder = Path(__file__).resolve().parents[2] / "benchmarks"
    with_run = {
        path.stem
        for path in folder.glob("*.py")
        if any(isinstance(node, ast.FunctionDef) and node.name == "run" for node in ast.parse(path.read_text()).body)
    }
    assert with_run == set(MODULES)


def test_validating_http_functions_are_held_to_the_peer_and_the_others_to_boto3() -> None:
    # Given import and first-request medians (ms) for boto3, the peer, a validating and a non-validating function
    # When the verdict rows are made  Then the validating one is compared with the peer (1.15x, import and first
    # request), the other with boto3 (1.5x), and the peer's own rows carry no target
    from benchmarks.cold_start import PEER, ratio_rows

    imports = {PEER: 100.0, "PatientAuthFunction": 116.0, "RoutingFunction": 150.0}
    first = {PEER: (100.0, 10.0, 110.0, 200), "PatientAuthFunction": (110.0, 16.0, 126.0, 404)}
    rows = {r["name"].split(" (")[0]: r for r in ratio_rows(100.0, imports, first)}
    patient = rows["cold start: PatientAuthFunction import"]
    assert (patient["unit"], patient["target"], patient["ok"]) == ("x peer", "<= 1.15x", False)
    assert patient["value"] == pytest.approx(1.16)
    routing = rows["cold start: RoutingFunction import"]
    assert (routing["unit"], routing["target"], routing["ok"]) == ("x boto3", "<= 1.5x", True)
    first_patient = next(r for name, r in rows.items() if name.startswith("first request: PatientAuthFunction"))
    assert (first_patient["unit"], first_patient["ok"]) == ("x peer", True)
    assert first_patient["value"] == pytest.approx(126 / 110)
    assert [r["ok"] for name, r in rows.items() if PEER in name] == [None, None]


def test_the_peer_answers_its_one_route_through_the_validating_resolver() -> None:
    # Given the peer function (benchmarks/peer) and the event its first request sends
    # When invoked in-process  Then it answers 200 from the route, and a body its model rejects is not a 200
    import importlib.util
    import json

    from benchmarks.cold_start import PEER, PEER_DIR, first_request_event

    spec = importlib.util.spec_from_file_location("frontdesk_bench_peer", PEER_DIR / "app.py")
    assert spec is not None and spec.loader is not None
    peer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(peer)

    class Context:
        function_name = "peer"
        memory_limit_in_mb = 128
        invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:peer"
        aws_request_id = "peer"

    event = first_request_event(PEER)
    answer = peer.lambda_handler(event, Context())
    assert answer["statusCode"] == 200
    assert json.loads(answer["body"]) == {"greeting": "Hello, Ada"}
    event["body"] = json.dumps({"name": "Ada", "extra": 1})
    assert peer.lambda_handler(event, Context())["statusCode"] == 422
