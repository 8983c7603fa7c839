"""Reading template.yaml: CloudFormation tags, the SAM transform done offline, and what the runner needs of it."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    pass


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _tag)


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_CfnLoader)  # SafeLoader subclass; noqa: S506  # nosec B506


def transform(template: dict[str, Any], region: str = "us-east-1") -> dict[str, Any]:
    """The SAM transform as `sam deploy` runs it, offline: local CodeUris become s3:// URIs first."""
    from samtranslator.public.translator import ManagedPolicyLoader  # noqa: F401 - imported for its side effects
    from samtranslator.translator.transform import transform as sam_transform

    packaged = copy.deepcopy(template)
    for resource in packaged["Resources"].values():
        props = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(props.get(key), str) and not props[key].startswith("s3://"):
                props[key] = f"s3://frontdesk-artifacts/{props[key].strip('/')}.zip"

    class _StubPolicies:
        def load(self) -> dict[str, str]:
            return {}

    import os

    os.environ.setdefault("AWS_DEFAULT_REGION", region)
    return dict(sam_transform(packaged, {}, _StubPolicies()))


@dataclass(frozen=True)
class HttpRoute:
    method: str
    path: str  # API Gateway syntax: /patients/{patient_id}
    function: str  # logical id
    authorized: bool


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    code_dir: Path
    handler: str
    environment: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Schedule:
    name: str  # the job name in the schedule's input
    function: str
    expression: str
    input: dict[str, Any]


@dataclass(frozen=True)
class EventRule:
    function: str
    pattern: dict[str, Any]
    dead_letter_queue: str | None = None  # logical id of the rule target's DLQ
    max_retries: int = 0


@dataclass(frozen=True)
class S3Trigger:
    function: str
    prefix: str
    suffix: str


@dataclass(frozen=True)
class SnsSubscription:
    function: str
    topic: str  # logical id of the topic
    dead_letter_queue: str | None = None  # the function's DeadLetterQueue: where async failures are parked


@dataclass
class Wiring:
    functions: dict[str, FunctionSpec]
    routes: list[HttpRoute]
    schedules: list[Schedule]
    rules: list[EventRule]
    s3_triggers: list[S3Trigger]
    authorizer: str | None
    table: dict[str, Any]
    sqs_triggers: list[tuple[str, str]] = field(default_factory=list)  # (function, queue logical id)
    sns_subscriptions: list[SnsSubscription] = field(default_factory=list)


def wiring(template: dict[str, Any] | None = None) -> Wiring:
    """Everything the local runner wires, read from the template (never a second list of routes)."""
    tpl = template or load_template()
    resources = tpl["Resources"]
    functions: dict[str, FunctionSpec] = {}
    routes: list[HttpRoute] = []
    schedules: list[Schedule] = []
    rules: list[EventRule] = []
    s3: list[S3Trigger] = []
    sqs: list[tuple[str, str]] = []
    sns: list[SnsSubscription] = []
    for logical_id, resource in resources.items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        props = resource["Properties"]
        functions[logical_id] = FunctionSpec(logical_id, ROOT / props["CodeUri"], props["Handler"])
        for event in (props.get("Events") or {}).values():
            kind, ev = event["Type"], event.get("Properties", {})
            if kind == "HttpApi":
                authorized = (ev.get("Auth") or {}).get("Authorizer") != "NONE"
                routes.append(HttpRoute(ev["Method"].upper(), ev["Path"], logical_id, authorized))
            elif kind == "ScheduleV2":
                job_input = json.loads(ev.get("Input") or "{}")
                schedules.append(Schedule(job_input.get("job", ""), logical_id, ev["ScheduleExpression"], job_input))
            elif kind == "EventBridgeRule":
                # SAM reads `Arn` (a `Destination` key is ignored, and SAM then makes its own unencrypted queue).
                dlq = (ev.get("DeadLetterConfig") or {}).get("Arn")
                retries = int((ev.get("RetryPolicy") or {}).get("MaximumRetryAttempts", 0))
                rules.append(EventRule(logical_id, ev["Pattern"], _logical_ref(dlq) if dlq else None, retries))
            elif kind == "S3":
                s3.append(S3Trigger(logical_id, *_s3_filter(ev)))
            elif kind == "SQS":
                sqs.append((logical_id, _logical_ref(ev["Queue"])))
            elif kind == "SNS":
                dlq = (props.get("DeadLetterQueue") or {}).get("TargetArn")
                sns.append(SnsSubscription(logical_id, _logical_ref(ev["Topic"]), _logical_ref(dlq) if dlq else None))
    api = next(r for r in resources.values() if r.get("Type") == "AWS::Serverless::HttpApi")
    authorizers = api["Properties"].get("Auth", {}).get("Authorizers", {})
    authorizer = None
    for spec in authorizers.values():
        authorizer = _logical_ref(spec["FunctionArn"])
    table = next(r for r in resources.values() if r.get("Type") == "AWS::DynamoDB::Table")["Properties"]
    return Wiring(functions, routes, schedules, rules, s3, authorizer, table, sqs, sns)


def _s3_filter(ev: dict[str, Any]) -> tuple[str, str]:
    prefix = suffix = ""
    for rule in ev.get("Filter", {}).get("S3Key", {}).get("Rules", []):
        if rule["Name"].lower() == "prefix":
            prefix = rule["Value"]
        elif rule["Name"].lower() == "suffix":
            suffix = rule["Value"]
    return prefix, suffix


def _logical_ref(value: Any) -> str:
    if isinstance(value, dict):
        if "Fn::GetAtt" in value:
            return str(value["Fn::GetAtt"][0])
        if "Ref" in value:
            return str(value["Ref"])
    return str(value)
