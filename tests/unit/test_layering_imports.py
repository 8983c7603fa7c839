"""Issue 13: the store is the only place that knows items, keys, conditions and transactions. Every module outside
store/ and adapters/ (services, domain, functions, the package root) is read (its source, not imported) and may not
import pynamodb, boto3 or botocore — at module level or inside a function — nor name a store item (`...Item`)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "layers" / "common" / "frontdesk"
FORBIDDEN = ("pynamodb", "boto3", "botocore")
# Modules that still name store items, each to move into the store (issue 13 item 2); the list may only shrink:
# a module that no longer names one fails test_the_item_allow_list_only_shrinks until it is removed here. Empty now.
STILL_NAMING_ITEMS: set[str] = set()  # services/imports.py left it when its block reads and writes moved to the store


def _modules() -> list[Path]:
    inside = [p for p in PACKAGE.rglob("*.py") if not ({"store", "adapters"} & set(p.relative_to(PACKAGE).parts))]
    return sorted(inside + list((ROOT / "functions").rglob("*.py")))


def forbidden_imports(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        found += [f"line {node.lineno}: {name}" for name in names if name.split(".")[0] in FORBIDDEN]
    return found


def store_items_named(source: str) -> list[str]:
    """Store item classes imported from frontdesk.store or read as an attribute of an imported store module."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("frontdesk.store"):
            found += [f"line {node.lineno}: {a.name}" for a in node.names if a.name.endswith("Item")]
        elif isinstance(node, ast.Attribute) and node.attr.endswith("Item") and node.attr[:1].isupper():
            found.append(f"line {node.lineno}: .{node.attr}")
    return found


def _relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def test_the_checks_see_imports_anywhere_in_a_module() -> None:
    # Given sources importing the AWS libraries at module level, from a submodule and inside a function
    source = (
        "import json\nfrom pynamodb.exceptions import TransactWriteError\nimport botocore.config\n"
        "def f():\n    import boto3\n    return boto3\n"
        "from frontdesk.store.conversations import MessageItem, get_conversation\nx = store.ConversationItem\n"
    )
    # Then every one of them is reported, and the harmless ones are not
    assert [hit.split(": ")[1] for hit in forbidden_imports(source)] == [
        "pynamodb.exceptions",
        "botocore.config",
        "boto3",
    ]
    assert sorted(hit.split(": ")[1] for hit in store_items_named(source)) == [".ConversationItem", "MessageItem"]
    assert forbidden_imports("from frontdesk.store import routing\nimport frontdesk.adapters.objects\n") == []


def test_no_module_outside_store_and_adapters_imports_pynamodb_boto3_or_botocore() -> None:
    # Given every module of the services, the domain, the functions and the package root
    modules = _modules()
    assert any("services" in m.parts for m in modules) and any("functions" in m.parts for m in modules)
    # When their imports are read
    offenders = {_relative(m): hits for m in modules if (hits := forbidden_imports(m.read_text()))}
    # Then none imports the AWS or PynamoDB libraries: the store and the adapters are the only ones that do
    assert offenders == {}


def test_no_module_outside_the_store_names_a_store_item_but_the_listed_ones() -> None:
    offenders = {_relative(m) for m in _modules() if store_items_named(m.read_text())}
    assert offenders - STILL_NAMING_ITEMS == set()


def test_the_item_allow_list_only_shrinks() -> None:
    for module in sorted(STILL_NAMING_ITEMS):
        assert store_items_named((ROOT / module).read_text()), f"{module} is clean now: remove it from the list"
