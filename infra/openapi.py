"""The OpenAPI document, generated from the handlers' own route definitions (Powertools), merged across functions.

`python -m infra.openapi --write` stores it where the ApiDocs function serves it from; `--check` fails when the
stored document is stale (make build runs it; a test does too).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from frontdesk.http import REQUEST_BODY_EXTENSION
from infra.template import wiring

OUTPUT = Path(__file__).resolve().parent.parent / "layers" / "common" / "frontdesk" / "openapi.json"
_POWERTOOLS_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")


def generate() -> dict[str, Any]:
    os.environ.setdefault("FRONTDESK_ENV", "local")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    from infra.local.functions import load_module

    wired = wiring()
    public = {(r.method, r.path) for r in wired.routes if not r.authorized}
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for logical_id in sorted({r.function for r in wired.routes}):
        app = getattr(load_module(wired.functions[logical_id]), "app", None)
        if app is None:
            continue
        document = app.get_openapi_schema().model_dump(mode="json", by_alias=True, exclude_none=True)
        for path, operations in document.get("paths", {}).items():
            paths.setdefault(path, {}).update(operations)
        schemas.update(document.get("components", {}).get("schemas", {}))
    for path, operations in paths.items():
        for method, operation in operations.items():
            _fix_operation(operation, (method.upper(), path) in public)
    for name in _POWERTOOLS_VALIDATION_SCHEMAS:
        schemas.pop(name, None)
    return {
        "openapi": "3.1.0",
        "info": {"title": "frontdesk", "version": "1.0.0", "description": "The frontdesk HTTP contract (API.md)."},
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
        "security": [{"bearer": []}],
    }


def _fix_operation(operation: dict[str, Any], public: bool) -> None:
    """Validation failures answer API.md's 400 envelope, not Powertools' 422; one success status per route."""
    responses = operation.get("responses", {})
    responses.pop("422", None)
    if REQUEST_BODY_EXTENSION in operation:
        operation["requestBody"] = operation.pop(REQUEST_BODY_EXTENSION)
    declared = [status for status in responses if status.startswith("2") and status != "200"]
    if declared and "200" in responses and responses["200"].get("description") == "Successful Response":
        responses.pop("200")
    if public:
        operation["security"] = []
        # No bearer token, so no bearer 401 — unless the route declares a 401 of its own (signed webhooks).
        if responses.get("401", {}).get("description") == "unauthenticated":
            responses.pop("401", None)


def render() -> str:
    return json.dumps(generate(), indent=2, sort_keys=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    text = render()
    if args.write:
        OUTPUT.write_text(text, encoding="utf-8")
        print(f"wrote {OUTPUT}")
        return 0
    if args.check:
        if not OUTPUT.exists() or OUTPUT.read_text(encoding="utf-8") != text:
            print("openapi.json is stale: run `make openapi`", file=sys.stderr)
            return 1
        return 0
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
