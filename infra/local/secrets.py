"""The template's secrets, locally: created in moto's Secrets Manager (the runner's moto server), so the functions
read them through the same code path as in AWS (frontdesk.secrets, Powertools' parameters utility).

Each `AWS::SecretsManager::Secret` of template.yaml becomes a local secret named after its logical id, with a
value generated as its GenerateSecretString says; every environment variable the template sets to `!Ref` such a
secret (in Globals or on a function) is set to that name. Nothing else is invented here: a secret added to the
template is created locally with no change to this module.
"""

from __future__ import annotations

import os
import secrets
import string
from typing import Any

from infra.template import load_template

LOCAL_PREFIX = "frontdesk-local/"


def secret_resources(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource.get("Properties") or {}
        for logical_id, resource in template["Resources"].items()
        if resource.get("Type") == "AWS::SecretsManager::Secret"
    }


def secret_variables(template: dict[str, Any]) -> dict[str, str]:
    """Environment variable -> logical id of the secret it names (`!Ref`), from Globals and every function."""
    resources = secret_resources(template)
    blocks = [((template.get("Globals") or {}).get("Function") or {}).get("Environment")]
    blocks += [
        (resource.get("Properties") or {}).get("Environment")
        for resource in template["Resources"].values()
        if resource.get("Type") == "AWS::Serverless::Function"
    ]
    found: dict[str, str] = {}
    for block in blocks:
        for variable, value in ((block or {}).get("Variables") or {}).items():
            if isinstance(value, dict) and value.get("Ref") in resources:
                found[variable] = str(value["Ref"])
    return found


def generated_value(properties: dict[str, Any]) -> str:
    spec = properties.get("GenerateSecretString") or {}
    length = int(spec.get("PasswordLength", 32))
    alphabet = string.ascii_letters + string.digits
    if not spec.get("ExcludePunctuation"):
        alphabet += "!#$%&()*+,-.:;<=>?@[]^_{|}~"
    return "".join(secrets.choice(alphabet) for _ in range(length))


def local_environment(endpoint: str, template: dict[str, Any] | None = None) -> dict[str, str]:
    """The variables that point the functions at the local secrets (set before frontdesk reads its settings)."""
    tpl = template or load_template()
    variables = {variable: LOCAL_PREFIX + logical_id for variable, logical_id in secret_variables(tpl).items()}
    return {"SECRETS_ENDPOINT": endpoint, **variables}


def create(endpoint: str, template: dict[str, Any] | None = None) -> dict[str, str]:
    """Creates (or gives a new value to) each secret of the template in the Secrets Manager at `endpoint`;
    returns logical id -> local secret name."""
    import boto3

    tpl = template or load_template()
    region = os.environ.get("AWS_REGION", "us-east-1")
    client = boto3.client("secretsmanager", endpoint_url=endpoint, region_name=region)
    names: dict[str, str] = {}
    for logical_id, properties in secret_resources(tpl).items():
        name = LOCAL_PREFIX + logical_id
        value = generated_value(properties)
        try:
            client.create_secret(Name=name, SecretString=value)
        except client.exceptions.ResourceExistsException:
            client.put_secret_value(SecretId=name, SecretString=value)
        names[logical_id] = name
    return names


def configure(endpoint: str) -> dict[str, str]:
    """The runner's start: the secrets created, the environment pointed at them."""
    template = load_template()
    names = create(endpoint, template)
    os.environ.update(local_environment(endpoint, template))
    return names
