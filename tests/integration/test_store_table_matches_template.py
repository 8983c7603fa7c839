"""The table the PynamoDB models describe is exactly the table template.yaml declares."""

from __future__ import annotations

from infra.template import wiring


def _template_table() -> dict:
    table = wiring().table
    return {
        "keys": {k["AttributeName"]: k["KeyType"] for k in table["KeySchema"]},
        "attributes": {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]},
        "indexes": {
            gsi["IndexName"]: (
                {k["AttributeName"]: k["KeyType"] for k in gsi["KeySchema"]},
                gsi["Projection"]["ProjectionType"],
            )
            for gsi in table["GlobalSecondaryIndexes"]
        },
        "ttl": table["TimeToLiveSpecification"]["AttributeName"],
        "billing": table["BillingMode"],
    }


def _model_table() -> dict:
    from frontdesk.store.base import TTL_ATTRIBUTE, TableItem

    schema = TableItem._get_schema()
    indexes = {}
    for index in schema["global_secondary_indexes"]:
        indexes[index["index_name"]] = (
            {k["AttributeName"]: k["KeyType"] for k in index["key_schema"]},
            index["projection"]["ProjectionType"],
        )
    return {
        "keys": {k["AttributeName"]: k["KeyType"] for k in schema["key_schema"]},
        "attributes": {a["AttributeName"]: a["AttributeType"] for a in schema["attribute_definitions"]},
        "indexes": indexes,
        "ttl": TTL_ATTRIBUTE,
        "billing": TableItem.Meta.billing_mode,
    }


def test_models_and_template_declare_the_same_table() -> None:
    assert _model_table() == _template_table()
