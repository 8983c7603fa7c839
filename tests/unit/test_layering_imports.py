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


# ----- issue 13 item 2: domain types live in domain/, so handlers and the domain never import the store to name one.
# What is enforced: (a) no module of domain/ imports frontdesk.store at all (any name, any form, even under
# TYPE_CHECKING); (b) no module of functions/ (every handler module, not only app.py) imports a type from
# frontdesk.store — a CapWords name (`from frontdesk.store.x import Conversation`), or one read as an attribute of
# an imported store module (`conversations_store.Conversation`, `frontdesk.store.x.Conversation`). Handlers may still
# import the store's functions and constants (page tokens, clamp_limit) and `frontdesk.store.base` for its import
# cost. Allowed type, by name: PageScope (what a page token binds; tokens wrap the store's keys, a store concern).
STORE_TYPES_HANDLERS_MAY_NAME = {"PageScope"}


def _is_type_name(name: str) -> bool:
    return name[:1].isupper() and not name.isupper()  # CapWords: a class; CONSTANTS are not types


def store_types_named(source: str) -> list[str]:
    """Types (CapWords names) a module takes from frontdesk.store: imported by name, or read off a store module."""
    found: list[str] = []
    store_modules: set[str] = set()  # local names bound to a store module
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("frontdesk.store"):
            for alias in node.names:
                if _is_type_name(alias.name):
                    found.append(f"line {node.lineno}: {alias.name}")
                elif node.module == "frontdesk.store":
                    store_modules.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            store_modules |= {a.asname for a in node.names if a.asname and a.name.startswith("frontdesk.store.")}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _is_type_name(node.attr):
            owner = ast.unparse(node.value)
            if owner in store_modules or owner.startswith("frontdesk.store."):
                found.append(f"line {node.lineno}: {owner}.{node.attr}")
    return found


def imports_the_store(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("frontdesk.store"):
            found.append(f"line {node.lineno}: {node.module}")
        elif isinstance(node, ast.Import):
            found += [f"line {node.lineno}: {a.name}" for a in node.names if a.name.startswith("frontdesk.store")]
    return found


def test_the_type_checks_see_every_way_of_naming_a_store_type() -> None:
    # Given a source naming store types by import, through a module alias and by the full dotted path
    source = (
        "from frontdesk.store.conversations import Conversation, get_conversation\n"
        "from frontdesk.store.page_tokens import MAX_TOKEN_CHARS\n"
        "from frontdesk.store import routing as routing_store\nimport frontdesk.store.practices as ps\n"
        "import frontdesk.store.base\n"
        "def f(c: routing_store.RoutingConfig, p: ps.Practice) -> frontdesk.store.base.TableItem:\n"
        "    return routing_store.get_config(c)\n"
    )
    # Then each type is reported, and functions, constants and plain module imports are not
    assert sorted(hit.split(": ")[1] for hit in store_types_named(source)) == [
        "Conversation",
        "frontdesk.store.base.TableItem",
        "ps.Practice",
        "routing_store.RoutingConfig",
    ]
    assert store_types_named("from frontdesk.domain.conversations import Conversation\nx: Conversation\n") == []
    assert len(imports_the_store(source)) == 5 and imports_the_store("from frontdesk.domain import routing\n") == []


def test_issue_13_domain_never_imports_the_store() -> None:
    # Given every module of domain/
    modules = sorted((PACKAGE / "domain").rglob("*.py"))
    assert len(modules) > 10
    # Then none imports frontdesk.store: the domain is pure, and the store maps its items to domain types
    assert {_relative(m): hits for m in modules if (hits := imports_the_store(m.read_text()))} == {}


def test_issue_13_handlers_and_services_name_domain_types_never_store_types() -> None:
    # Given every handler module of functions/, every service and the package's own top-level modules
    package = ROOT / "layers" / "common" / "frontdesk"
    modules = sorted(
        [*(ROOT / "functions").rglob("*.py"), *(package / "services").rglob("*.py"), *package.glob("*.py")]
    )
    allowed = STORE_TYPES_HANDLERS_MAY_NAME
    # When the types they take from the store are read
    offenders = {
        _relative(m): hits
        for m in modules
        if (hits := [h for h in store_types_named(m.read_text()) if h.split(": ")[1].split(".")[-1] not in allowed])
    }
    # Then there are none: Conversation, Message, Listing, Credential ... come from frontdesk.domain
    assert offenders == {}
