"""Issue 7: the benchmark table and the budgets it reads (no benchmark runs in make test)."""

from __future__ import annotations

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
