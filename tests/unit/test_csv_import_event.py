"""The S3 ObjectCreated notification as the CSV import function reads it (R-IMPORT-1), without pydantic."""

from __future__ import annotations

from typing import Any

import pytest


def _s3_objects() -> Any:
    from infra.local.functions import load_module
    from infra.template import wiring

    return load_module(wiring().functions["CsvImportFunction"]).s3_objects


def _record(key: str, **extra: Any) -> dict[str, Any]:
    return {"s3": {"bucket": {"name": "b"}, "object": {"key": key, **extra}}}


def test_keys_are_url_decoded_once_and_the_etag_unquoted() -> None:
    # Given a notification whose key S3 URL-encoded (a space as '+', a literal '%' as %25)
    event = {"Records": [_record("imports/p1/my+file%2520.csv", size=12, eTag='"abc"')]}
    # Then the object is the real key, its size and bare etag
    (found,) = _s3_objects()(event)
    assert (found.bucket, found.key, found.size, found.etag) == ("b", "imports/p1/my file%20.csv", 12, "abc")


def test_a_record_without_an_object_is_skipped() -> None:
    assert _s3_objects()({"Records": [{"s3": {"bucket": {"name": "b"}}}]}) == []


def test_a_record_without_a_key_is_refused() -> None:
    with pytest.raises(KeyError):
        _s3_objects()({"Records": [{"s3": {"bucket": {"name": "b"}, "object": {"size": 1}}}]})
