"""Issue 2 item 3: the table the PynamoDB models describe is exactly the table template.yaml declares."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from pynamodb.attributes import TTLAttribute

from infra.template import wiring


def _keys(schema: list[dict[str, str]]) -> list[tuple[str, str]]:
    return sorted((k["AttributeName"], k["KeyType"]) for k in schema)


def _model_table(model: Any) -> dict[str, Any]:
    schema = model._get_schema()
    ttl = sorted(a.attr_name for a in model.get_attributes().values() if isinstance(a, TTLAttribute))
    return {
        "attributes": sorted((a["AttributeName"], a["AttributeType"]) for a in schema["attribute_definitions"]),
        "keys": _keys(schema["key_schema"]),
        "indexes": {
            index["index_name"]: (_keys(index["key_schema"]), index["projection"]["ProjectionType"])
            for index in schema["global_secondary_indexes"]
        },
        "local_indexes": [index["index_name"] for index in schema["local_secondary_indexes"]],
        "ttl": ttl,
    }


def _template_table() -> dict[str, Any]:
    table = wiring().table
    ttl = table.get("TimeToLiveSpecification", {})
    return {
        "attributes": sorted((a["AttributeName"], a["AttributeType"]) for a in table["AttributeDefinitions"]),
        "keys": _keys(table["KeySchema"]),
        "indexes": {
            index["IndexName"]: (_keys(index["KeySchema"]), index["Projection"]["ProjectionType"])
            for index in table.get("GlobalSecondaryIndexes", [])
        },
        "local_indexes": [index["IndexName"] for index in table.get("LocalSecondaryIndexes", [])],
        "ttl": [ttl["AttributeName"]] if ttl.get("Enabled") else [],
    }


def _all_models() -> list[Any]:
    import frontdesk.store
    from frontdesk.store.base import TableItem

    for module in pkgutil.iter_modules(frontdesk.store.__path__):
        importlib.import_module(f"frontdesk.store.{module.name}")
    found, todo = [], [TableItem]
    while todo:
        model = todo.pop()
        found.append(model)
        todo.extend(model.__subclasses__())
    return found


def test_models_and_template_declare_the_same_table() -> None:
    # Given the PynamoDB base model  When its schema (keys, GSIs and their projection, TTL) is read
    # Then it equals the Table resource of template.yaml, field for field
    from frontdesk.store.base import TableItem

    expected = _template_table()
    assert expected["keys"] == [("pk", "HASH"), ("sk", "RANGE")]
    assert sorted(expected["indexes"]) == ["gsi1", "gsi2", "gsi3"]
    assert expected["ttl"] == ["ttl"]
    assert _model_table(TableItem) == expected


def test_every_item_model_lives_in_that_one_table() -> None:
    # Given every model of frontdesk.store  Then each uses the base table, its keys and indexes (no model adds any)
    from frontdesk.store.base import TableItem

    base = _model_table(TableItem)
    for model in _all_models():
        assert model.Meta.table_name == TableItem.Meta.table_name, model
        described = _model_table(model)
        assert (described["keys"], described["indexes"]) == (base["keys"], base["indexes"]), model
        assert set(described["ttl"]) <= set(base["ttl"]), model
