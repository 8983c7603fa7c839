"""Loading each function's real lambda_handler from its CodeUri, as Lambda would."""

from __future__ import annotations

import importlib.util
import sys
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from infra.template import FunctionSpec

Handler = Callable[[dict[str, Any], Any], Any]
_lock = threading.Lock()
_loaded: dict[str, Handler] = {}


@dataclass
class LambdaContext:
    """The attributes Powertools reads from a Lambda context."""

    function_name: str
    memory_limit_in_mb: int = 512
    aws_request_id: str = ""
    invoked_function_arn: str = ""
    log_group_name: str = ""
    log_stream_name: str = ""
    function_version: str = "$LATEST"

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


def context_for(spec: FunctionSpec) -> LambdaContext:
    return LambdaContext(
        function_name=spec.logical_id,
        aws_request_id=str(uuid.uuid4()),
        invoked_function_arn=f"arn:aws:lambda:us-east-1:000000000000:function:{spec.logical_id}",
        log_group_name=f"/aws/lambda/{spec.logical_id}",
    )


def load_handler(spec: FunctionSpec) -> Handler:
    """Imports <CodeUri>/<module>.py under a unique name; its sibling modules resolve through sys.path."""
    with _lock:
        if spec.logical_id in _loaded:
            return _loaded[spec.logical_id]
        module_name, _, attribute = spec.handler.rpartition(".")
        code_dir = str(spec.code_dir)
        if code_dir not in sys.path:
            sys.path.insert(0, code_dir)
        location = spec.code_dir / f"{module_name}.py"
        module_spec = importlib.util.spec_from_file_location(f"lambda_{spec.logical_id}", location)
        assert module_spec is not None and module_spec.loader is not None
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[module_spec.name] = module
        module_spec.loader.exec_module(module)
        handler: Handler = getattr(module, attribute)
        _loaded[spec.logical_id] = handler
        return handler


_running: dict[str, threading.RLock] = {}


def invoke(spec: FunctionSpec, event: dict[str, Any]) -> Any:
    """One invocation at a time per function, as in one Lambda execution environment: a handler module's state
    (the resolver's current event and context, the logger's keys) is per process, and concurrent requests on the
    runner's threads overwrote each other's (the load test saw another request's principal: 500s and 400s).
    Re-entrant: a function whose invocation synchronously delivers an event to itself does not deadlock."""
    with _lock:
        running = _running.setdefault(spec.logical_id, threading.RLock())
    handler = load_handler(spec)
    with running:
        return handler(event, context_for(spec))


def load_module(spec: FunctionSpec) -> Any:
    load_handler(spec)
    return sys.modules[f"lambda_{spec.logical_id}"]
