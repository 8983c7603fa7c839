"""Every rule of SPEC.md is named by at least one test (issue 13, item 5).

A rule counts as named when a test function carries it in its name (`test_r_phone_7_...`: the area and the first
number after it) or mentions it in its docstring (`R-PHONE-7`). A comment inside some other test does not count: a
reader looking for the test of a rule finds it by name. SPEC.md is the product's, beside the repository
(../shared/SPEC.md; CI checks shared/ out beside the clone): missing, this test fails rather than skips.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SPEC = REPO.parent / "shared" / "SPEC.md"
TESTS = REPO / "tests"

# Rules a test does not name yet, each while its work is under way (empty: every rule of SPEC.md is named). Remove an
# id when its test lands (the test below fails while a covered id stays here, so the set only shrinks); never add
# one to make this test pass.
NOT_YET_COVERED: frozenset[str] = frozenset()

_RULE = re.compile(r"^- (R-[A-Z]+-\d+)\b", re.MULTILINE)
_NAME = re.compile(r"(?<![a-z])r_([a-z]+)_(\d+)(?!\d)")
_MENTION = re.compile(r"\bR-([A-Z]+)-(\d+)(?!\d)")


def spec_rules(text: str) -> list[str]:
    """The ids SPEC.md defines: each rule is a list item that starts with its id."""
    return _RULE.findall(text)


def named_rules(source: str) -> set[str]:
    """The rule ids the test functions of one module name, by function name or docstring."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_"):
            found |= {f"R-{area.upper()}-{number}" for area, number in _NAME.findall(node.name)}
            found |= {f"R-{area}-{number}" for area, number in _MENTION.findall(ast.get_docstring(node) or "")}
    return found


def all_named_rules() -> set[str]:
    named: set[str] = set()
    for path in sorted(TESTS.rglob("test_*.py")):
        named |= named_rules(path.read_text(encoding="utf-8"))
    return named


def test_the_parsers_read_rules_names_and_docstrings_but_not_comments() -> None:
    # Given a SPEC excerpt and a test module  Then the rule ids are read from list items, and a test names a rule by
    # its function name (first number only) or its docstring, never by a comment or a helper's name
    assert spec_rules("- R-PHONE-7: On confirmation\n  see R-DOB-1\n- R-ROUTE-3 (reasons shown): x\n") == [
        "R-PHONE-7",
        "R-ROUTE-3",
    ]
    source = (
        "def test_r_phone_7_tells_the_old_number():\n    pass\n"
        "def test_r_api_1_32_levels():\n    pass\n"
        'def test_isolation():\n    """R-SEC-1: another practice."""\n'
        "def test_other():\n    # R-DOB-4: only a comment\n    pass\n"
        "def helper_r_merge_1():\n    pass\n"
    )
    assert named_rules(source) == {"R-PHONE-7", "R-API-1", "R-SEC-1"}


def test_every_spec_rule_is_named_by_a_test() -> None:
    # Given SPEC.md's rules and the tests  Then each rule is named by a test, or still waits in NOT_YET_COVERED
    assert SPEC.exists(), f"SPEC.md not found at {SPEC}: the product documents belong beside the repository"
    rules = spec_rules(SPEC.read_text(encoding="utf-8"))
    assert len(rules) == len(set(rules)) and len(rules) >= 59
    named = all_named_rules()
    assert sorted(rule for rule in rules if rule not in named and rule not in NOT_YET_COVERED) == []


def test_not_yet_covered_only_holds_rules_of_the_spec_that_no_test_names_yet() -> None:
    # Given NOT_YET_COVERED  Then every id in it is a SPEC rule still named by no test (a covered one must go)
    rules = set(spec_rules(SPEC.read_text(encoding="utf-8")))
    assert sorted(NOT_YET_COVERED - rules) == []
    assert sorted(NOT_YET_COVERED & all_named_rules()) == []


def test_tests_name_only_rules_the_spec_defines() -> None:
    # Given every rule id the tests name  Then each exists in SPEC.md (a typo names no rule)
    rules = set(spec_rules(SPEC.read_text(encoding="utf-8")))
    assert sorted(all_named_rules() - rules) == []
