"""Static checks of the deployable artefacts: the template (raw and SAM-transformed), the table, the lock file.

The template tests (tests/*/test_template_*.py) call these functions; `make check` runs them from the command
line together with the heavier tools (bandit, checkov, sam validate/build), which live in their own virtualenv:

    python -m infra.checks cfn-lint                 # cfn-lint on template.yaml and on the transformed template
    python -m infra.checks transform --out FILE     # the transformed template, checkov skips carried over
    python -m infra.checks lock --write | --check   # requirements.lock is the .venv's pip freeze
    python -m infra.checks audit --pip-audit BIN    # pip-audit, only when a vulnerability database answers
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import subprocess
import sys
import tomllib
import urllib.request
from pathlib import Path
from typing import Any

from infra.template import ROOT, TEMPLATE, load_template, transform

LOCK_FILE = ROOT / "requirements.lock"
LAYER_REQUIREMENTS = ROOT / "layers" / "common" / "requirements.txt"
PYPROJECT = ROOT / "pyproject.toml"
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


# ---------- cfn-lint ----------


def cfn_lint(text: str, region: str = "us-east-1") -> list[str]:
    """cfn-lint's errors and warnings for one template text ("E3001 line 12: message"); informational rules skipped."""
    from cfnlint.api import lint

    return [
        f"{match.rule.id} line {match.linenumber}: {match.message}"
        for match in lint(text, regions=[region])
        if match.rule.id[:1] in ("E", "W")
    ]


def errors_only(findings: list[str]) -> list[str]:
    return [finding for finding in findings if finding.startswith("E")]


def transformed(template: dict[str, Any] | None = None) -> dict[str, Any]:
    """The SAM transform (offline), with each SAM resource's checkov skips copied onto what it generates.

    SAM drops a function's Metadata from the generated AWS::Lambda::Function, IAM role and permissions, where
    checkov's IAM and Lambda checks run: the skips written beside the function in template.yaml would be lost.
    """
    source = template or load_template()
    result = transform(copy.deepcopy(source))
    skips = {
        logical_id: resource["Metadata"]["checkov"]
        for logical_id, resource in source["Resources"].items()
        if str(resource.get("Type", "")).startswith("AWS::Serverless::") and "checkov" in resource.get("Metadata", {})
    }
    for logical_id, resource in result["Resources"].items():
        for owner, checkov in skips.items():
            if logical_id.startswith(owner):
                metadata = resource.setdefault("Metadata", {})
                merged = metadata.setdefault("checkov", {}).setdefault("skip", [])
                merged.extend(s for s in checkov.get("skip", []) if s not in merged)
    return result


# ---------- dependencies ----------


def _names(lines: list[str]) -> dict[str, str]:
    """{normalised name: full requirement} of requirement lines (comments and blanks skipped)."""
    found: dict[str, str] = {}
    for line in lines:
        line = line.split("#", 1)[0].strip()
        match = _NAME.match(line)
        if match:
            found[re.sub(r"[-_.]+", "-", match.group(1)).lower()] = line.replace(" ", "")
    return found


def runtime_dependencies() -> dict[str, str]:
    with PYPROJECT.open("rb") as handle:
        return _names(tomllib.load(handle)["project"]["dependencies"])


def layer_requirements() -> dict[str, str]:
    return _names(LAYER_REQUIREMENTS.read_text(encoding="utf-8").splitlines())


def frozen(python: str = sys.executable) -> list[str]:
    """`pip freeze` of the project virtualenv, without the project itself (installed editable)."""
    output = subprocess.run(  # noqa: S603 - fixed command
        [python, "-m", "pip", "freeze", "--exclude-editable", "--disable-pip-version-check"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return sorted((line for line in output.splitlines() if line and not line.startswith("-e ")), key=str.lower)


def lock_text(lines: list[str]) -> str:
    header = (
        "# The exact versions `make test` installed (pip freeze of .venv); `make check` fails when it drifts.\n"
        "# Regenerate: .venv/bin/python -m infra.checks lock --write\n"
    )
    return header + "".join(f"{line}\n" for line in lines)


def lock_problems() -> list[str]:
    if not LOCK_FILE.exists():
        return ["requirements.lock is missing: run `.venv/bin/python -m infra.checks lock --write`"]
    locked = _names(LOCK_FILE.read_text(encoding="utf-8").splitlines())
    problems = []
    current = _names(frozen())
    for name, pin in sorted(current.items()):
        if locked.get(name) != pin:
            problems.append(f"installed {pin}, locked {locked.get(name, 'nothing')}")
    problems += [f"locked {pin}, not installed" for name, pin in sorted(locked.items()) if name not in current]
    problems += [f"runtime dependency {name} is not locked" for name in runtime_dependencies() if name not in locked]
    return problems


# ---------- pip-audit ----------

# A canary: a release with long-published advisories. A database that does not report it audits nothing (this
# machine's PyPI mirror answers /pypi/<name>/json but has no vulnerability data: pip-audit would say "no known
# vulnerabilities" having checked nothing - PITFALLS).
_CANARY = ("requests", "2.5.0")


def _pypi_knows_canary(timeout: float) -> bool:
    url = f"https://pypi.org/pypi/{_CANARY[0]}/{_CANARY[1]}/json"
    with urllib.request.urlopen(url, timeout=timeout) as response:  # fixed https URL; noqa: S310  # nosec B310
        return bool(json.load(response).get("vulnerabilities"))


def _osv_knows_canary(timeout: float) -> bool:
    query = {"package": {"name": _CANARY[0], "ecosystem": "PyPI"}, "version": _CANARY[1]}
    request = urllib.request.Request(  # fixed https URL; noqa: S310  # nosec B310
        "https://api.osv.dev/v1/query", data=json.dumps(query).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310  # nosec B310
        return bool(json.load(response).get("vulns"))


def vulnerability_service(timeout: float = 5.0) -> str | None:
    """The pip-audit service ("pypi" / "osv") that really reports the canary's advisories, or None."""
    for name, probe in (("pypi", _pypi_knows_canary), ("osv", _osv_knows_canary)):
        try:
            if probe(timeout):
                return name
        # unreachable, or not a database: try the next one
        except Exception:  # noqa: S112  # nosec B112
            continue
    return None


# ---------- command line ----------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.checks")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("cfn-lint")
    out = commands.add_parser("transform")
    out.add_argument("--out", type=Path, required=True)
    lock = commands.add_parser("lock")
    lock.add_argument("--write", action="store_true")
    lock.add_argument("--check", action="store_true")
    audit = commands.add_parser("audit")
    audit.add_argument("--pip-audit", required=True)
    args = parser.parse_args(argv)

    if args.command == "cfn-lint":
        failed = False
        for name, text in (
            ("template.yaml", TEMPLATE.read_text(encoding="utf-8")),
            ("transformed template", json.dumps(transformed(), indent=1)),
        ):
            findings = cfn_lint(text)
            print(f"cfn-lint {name}: {len(errors_only(findings))} errors, {len(findings)} errors+warnings")
            for finding in findings:
                print(f"  {finding}")
            failed = failed or bool(errors_only(findings))
        return 1 if failed else 0
    if args.command == "transform":
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(transformed(), indent=1), encoding="utf-8")
        print(f"wrote {args.out}")
        return 0
    if args.command == "lock":
        if args.write:
            LOCK_FILE.write_text(lock_text(frozen()), encoding="utf-8")
            print(f"wrote {LOCK_FILE}")
            return 0
        problems = lock_problems()
        for problem in problems:
            print(f"requirements.lock: {problem}", file=sys.stderr)
        print(f"requirements.lock: {'STALE' if problems else 'current'}")
        return 1 if problems else 0
    if args.command == "audit":
        service = vulnerability_service()
        if service is None:
            print(
                f"pip-audit: SKIPPED - no vulnerability database reachable from here reports the advisories of "
                f"{_CANARY[0]}=={_CANARY[1]}, so an audit would check nothing. Run `make check` where PyPI's JSON API "
                "or api.osv.dev is reachable (docs/reliability.md)."
            )
            return 0
        print(f"pip-audit: auditing requirements.lock against {service}")
        return subprocess.call(  # noqa: S603 - fixed command
            [args.pip_audit, "--strict", "--no-deps", "--disable-pip", "-s", service, "-r", str(LOCK_FILE)]
        )
    return 2


if __name__ == "__main__":
    sys.exit(main())
