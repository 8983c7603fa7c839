"""Issue 2 item 3: the template is valid CloudFormation before and after the SAM transform (offline)."""

from __future__ import annotations

import json

from infra.checks import cfn_lint, errors_only, transformed
from infra.template import TEMPLATE


def test_template_yaml_has_no_cfn_lint_errors() -> None:
    # Given template.yaml as written  When cfn-lint checks it  Then it reports no error
    assert errors_only(cfn_lint(TEMPLATE.read_text(encoding="utf-8"))) == []


def test_sam_transformed_template_has_no_cfn_lint_errors() -> None:
    # Given the template after the SAM transform (what CloudFormation really receives; only this catches
    # circular dependencies)  When cfn-lint checks it  Then it reports no error
    result = transformed()
    assert "Transform" not in result
    assert any(r["Type"] == "AWS::Lambda::Function" for r in result["Resources"].values())
    assert errors_only(cfn_lint(json.dumps(result, indent=1))) == []


def test_checkov_skips_beside_a_sam_function_reach_the_resources_it_generates() -> None:
    # Given a function with a checkov skip written beside it  When transformed  Then its role carries the skip too
    from infra.template import load_template

    template = load_template()
    skip = {"id": "CKV_AWS_999", "comment": "test"}
    template["Resources"]["ApiDocsFunction"].setdefault("Metadata", {})["checkov"] = {"skip": [skip]}
    result = transformed(template)
    assert skip in result["Resources"]["ApiDocsFunction"]["Metadata"]["checkov"]["skip"]
    assert skip in result["Resources"]["ApiDocsFunctionRole"]["Metadata"]["checkov"]["skip"]
    other = result["Resources"]["StaffApiFunctionRole"].get("Metadata", {}).get("checkov", {}).get("skip", [])
    assert skip not in other
