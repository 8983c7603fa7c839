"""R-SMS-3: every SMS the platform sends goes through frontdesk.services.outbound_sms, which reads the opt-out
register first. This test reads the source of every module that ships or runs (layer, functions, local runner) and
fails on any other caller of the SMS adapter."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SEND_PATH = ROOT / "layers/common/frontdesk/services/outbound_sms.py"
ADAPTER = ROOT / "layers/common/frontdesk/adapters/sms.py"
SENDER_FACTORIES = {"get_sms_sender", "AwsSms", "_aws_sms", "LocalOutbox"}
PROVIDER_MARKERS = {"pinpoint-sms-voice-v2", "pinpoint", "send_text_message", "sms-voice"}


def bypasses(source: str) -> list[str]:
    """What in `source` reaches the SMS adapter (or the provider) without outbound_sms."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Name) and node.id in SENDER_FACTORIES:
            found.append(f"line {node.lineno}: uses {node.id}")
        elif isinstance(node, ast.alias) and node.name in SENDER_FACTORIES:
            found.append(f"imports {node.name}")
        elif isinstance(node, ast.Attribute) and node.attr in SENDER_FACTORIES | {"send_text_message"}:
            found.append(f"line {node.lineno}: uses {node.attr}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in PROVIDER_MARKERS:
            found.append(f"line {node.lineno}: names the provider {node.value!r}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "send":
            receiver = ast.unparse(node.func.value).lower()
            if "sms" in receiver or "outbox" in receiver:
                found.append(f"line {node.lineno}: calls {ast.unparse(node.func)}(...)")
    return found


def shipped_modules() -> list[Path]:
    roots = [ROOT / "layers/common/frontdesk", ROOT / "functions", ROOT / "infra"]
    return sorted(p for root in roots for p in root.rglob("*.py") if p not in (SEND_PATH, ADAPTER))


def test_r_sms_3_no_module_but_outbound_sms_calls_the_sms_adapter() -> None:
    # Given every module of the layer, the functions and the local runner
    modules = shipped_modules()
    assert len(modules) > 50  # the walk really found the code
    # When each is read for a way to the SMS adapter or the provider
    offenders = {str(p.relative_to(ROOT)): hits for p in modules if (hits := bypasses(p.read_text()))}
    # Then none has one: every send is checked against the register
    assert offenders == {}


def test_r_sms_3_the_send_path_itself_is_the_caller() -> None:
    # The one module allowed to reach the adapter does (so the check above is not vacuous)
    assert bypasses(SEND_PATH.read_text())


def test_r_sms_3_the_checker_catches_each_kind_of_bypass() -> None:
    planted = [
        "from frontdesk.adapters.sms import get_sms_sender\nget_sms_sender().send(to, body)\n",
        "def f(sms):\n    sms.send(to, body, sender=n)\n",
        "def f(sms=None):\n    (sms or default()).send(to, body)\n",
        "from frontdesk.adapters import sms as s\ns.AwsSms().send(to, body)\n",
        "import boto3\nboto3.client('pinpoint-sms-voice-v2').send_text_message(DestinationPhoneNumber=to)\n",
        "from frontdesk.adapters.sms import LOCAL_OUTBOX\nLOCAL_OUTBOX.send(to, body)\n",
    ]
    for source in planted:
        assert bypasses(source), source
    # Reading the local outbox (GET /_local/outbox) is not sending
    assert not bypasses("from frontdesk.adapters.sms import LOCAL_OUTBOX\nLOCAL_OUTBOX.messages(to)\n")
