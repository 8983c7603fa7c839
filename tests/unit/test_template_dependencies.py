"""Issue 2 item 3 and issue 14 item 7: what the layer deploys and what `make` installs is one hashed lock that
matches pyproject.toml; the served OpenAPI is current."""

from __future__ import annotations

import pytest

from infra.checks import (
    LAYER_REQUIREMENTS,
    LOCK_FILE,
    layer_requirements,
    lock_structure_problems,
    locked_pins,
    runtime_dependencies,
)


def test_lock_pins_every_pyproject_requirement_with_hashes_and_the_layer_is_its_runtime_subset() -> None:
    # Given requirements.lock and the layer's requirements.txt as committed
    lock, layer = LOCK_FILE.read_text("utf-8"), LAYER_REQUIREMENTS.read_text("utf-8")
    # Then every runtime and dev requirement is pinned with hashes, the layer pins the lock's versions of every
    # runtime dependency and nothing dev-only
    assert lock_structure_problems(lock, layer) == []
    assert set(runtime_dependencies()) <= set(layer_requirements())
    assert all(pin.hashes > 0 for pin in locked_pins(lock) + locked_pins(layer))


def test_lock_includes_what_the_sign_in_work_needs() -> None:
    # Given the lock  Then RS256 (PyJWT's crypto extra), zoneinfo data in Lambda and the OAuth client library
    # for the client-credentials test are in it (issue 14), and uv that installs it is pinned too
    names = {pin.name for pin in locked_pins(LOCK_FILE.read_text("utf-8"))}
    assert {"pyjwt", "cryptography", "tzdata", "authlib", "uv"} <= names
    assert {"cryptography", "tzdata"} <= set(layer_requirements())


@pytest.mark.parametrize(
    ("lock", "layer", "expected"),
    [
        # a pip-freeze snapshot without hashes (what main had)
        ("boto3==1.44.5\n", "boto3==1.44.5\n", "has no hash"),
        # a layer pin the lock does not have
        (
            "boto3==1.44.5 \\\n    --hash=sha256:" + "a" * 64 + "\n",
            "boto3==1.44.8 \\\n    --hash=sha256:" + "b" * 64 + "\n",
            "the lock does not",
        ),
        # a range instead of a pin
        ("boto3>=1.34\n", "", "not a pinned, hashed requirement line"),
    ],
)
def test_lock_check_refuses_unhashed_unpinned_or_diverging_files(lock: str, layer: str, expected: str) -> None:
    # Given a lock or layer file that is not what `make lock` writes  When checked  Then the check says why
    assert any(expected in problem for problem in lock_structure_problems(lock, layer))


def test_stored_openapi_document_equals_a_fresh_render() -> None:
    # Given the openapi.json the ApiDocs function serves  When rendered afresh from the handlers' routes
    # Then they are identical (else: `make openapi`)
    from infra.openapi import OUTPUT, render

    assert OUTPUT.read_text(encoding="utf-8") == render()


def test_r_auth_4_every_body_route_documents_its_body_the_token_route_as_form_and_json() -> None:
    # Given the OpenAPI document  When the routes that read a body are looked up
    import json

    from infra.openapi import OUTPUT

    operations = json.loads(OUTPUT.read_text(encoding="utf-8"))["paths"]
    token = operations["/integrations/token"]["post"]
    # Then the OAuth token route documents both encodings it reads (RFC 6749 §4.4), grant_type required
    content = token["requestBody"]["content"]
    assert set(content) == {"application/x-www-form-urlencoded", "application/json"}
    assert content["application/x-www-form-urlencoded"]["schema"]["required"] == ["grant_type"]
    # And no operation keeps the internal extension it was carried in
    assert "x-frontdesk-request-body" not in json.dumps(operations)


def test_make_installs_exactly_the_lock_again_whenever_it_changes() -> None:
    import shutil
    import subprocess

    from infra.checks import ROOT

    if shutil.which("make") is None:
        pytest.fail("make is not installed: the project's commands need it")
    # Given the lock changed (make -W: as if newer)  When make is asked for the virtualenv (dry run)
    plan = subprocess.run(
        ["make", "-n", "-W", "requirements.lock", ".venv/.installed"],  # noqa: S607 - make on PATH
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    # Then it syncs the virtualenv to the lock with hashes required (uv bootstrapped from the lock's own hashes)
    assert "--require-hashes --no-deps -r .venv/uv-requirement.txt" in plan
    assert "uv pip sync --quiet --python .venv/bin/python --require-hashes requirements.lock" in plan
    assert "install -e '.[dev]'" not in plan  # never a resolution of its own
