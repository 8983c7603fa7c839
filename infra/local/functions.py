"""Lambda's execution model for the runner: each function's real lambda_handler, loaded from its CodeUri, in a pool
of execution environments.

As in Lambda, a function serves concurrent invocations with separate execution environments ("instances"): each
is its own load of the function's code (the handler module and its sibling modules, under names of its own, so
module globals - the resolver's current event, caches - are never shared between instances) and serves one
invocation at a time; a new one starts when every instance is busy, up to a cap (MAX_INSTANCES, like reserved
concurrency; past it an invocation waits up to THROTTLE_WAIT_SECONDS, then is throttled). An idle instance is
reused warm, module state and all, exactly as Lambda reuses an environment.

What the instances do share, unlike Lambda: the layer's code (the frontdesk package and the libraries are imported
once per process, as one layer would be per environment). Where a library keeps per-environment state at class or
process level, the runner makes it per instance or per invocation, as separate processes would:
- the Powertools Logger keys live in the one logging tree's formatter: each instance gets its own copy of them
  (_LogState). A key appended in one instance is in no other instance's lines, and stays in its own next
  invocation unless the handler clears it (clear_state=True, R-SEC-3) - the leak a warm environment would have;
- Powertools' event handler keeps the current event and context as class attributes of BaseRouter (every resolver
  and router of the process reads them): they are made per invocation (_RouterState). Without it two concurrent
  requests answered with each other's principal (the load test saw AssertionErrors under another caller's role).
Left shared: Powertools Metrics' metric set (only EMF output; metrics are disabled locally) and its cold-start flag.
"""

from __future__ import annotations

import contextvars
import importlib.util
import logging
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from infra.template import FunctionSpec

Handler = Callable[[dict[str, Any], Any], Any]
MAX_INSTANCES = int(os.environ.get("FRONTDESK_LOCAL_MAX_INSTANCES", "16"))
THROTTLE_WAIT_SECONDS = float(os.environ.get("FRONTDESK_LOCAL_THROTTLE_WAIT", "60"))
_load_lock = threading.Lock()  # sys.modules and sys.path change while an instance loads


class Throttled(Exception):
    """Every instance of the function stayed busy (Lambda's TooManyRequestsException)."""


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


def context_for(spec: FunctionSpec, instance: int = 1) -> LambdaContext:
    return LambdaContext(
        function_name=spec.logical_id,
        aws_request_id=str(uuid.uuid4()),
        invoked_function_arn=f"arn:aws:lambda:us-east-1:000000000000:function:{spec.logical_id}",
        log_group_name=f"/aws/lambda/{spec.logical_id}",
        log_stream_name=f"local/[$LATEST]instance-{instance}",
    )


# ---------- one execution environment ----------


@dataclass
class Instance:
    number: int
    module: ModuleType
    handler: Handler
    log_state: dict[int, dict[str, Any]] = field(default_factory=dict)  # formatter id -> its keys, this instance


def _load(spec: FunctionSpec, number: int) -> Instance:
    """Imports <CodeUri>/<module>.py under a name of this instance's own, with fresh copies of its sibling modules
    (staff_api's staff_*.py): the first instance's copies stay in sys.modules under their plain names, later
    instances' copies are referenced only by their own handler module."""
    module_name, _, attribute = spec.handler.rpartition(".")
    with _load_lock:
        code_dir = str(spec.code_dir)
        if code_dir not in sys.path:
            sys.path.insert(0, code_dir)
        siblings = {path.stem for path in spec.code_dir.glob("*.py")}
        kept = {name: sys.modules.pop(name) for name in siblings if name in sys.modules}
        unique = f"lambda_{spec.logical_id}" if number == 1 else f"lambda_{spec.logical_id}__{number}"
        location = spec.code_dir / f"{module_name}.py"
        module_spec = importlib.util.spec_from_file_location(unique, location)
        assert module_spec is not None and module_spec.loader is not None
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[unique] = module
        try:
            module_spec.loader.exec_module(module)
        finally:
            if kept:  # a later instance: its own siblings leave sys.modules, the first instance's come back
                for name in siblings:
                    sys.modules.pop(name, None)
                sys.modules.update(kept)
        _LogState.install()
        _RouterState.install()
        return Instance(number, module, getattr(module, attribute))


# ---------- the pool of one function ----------


@dataclass
class Pool:
    spec: FunctionSpec
    cap: int = MAX_INSTANCES
    instances: list[Instance] = field(default_factory=list)
    idle: list[Instance] = field(default_factory=list)
    loading: int = 0
    created: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    invocations: int = 0
    throttled: int = 0
    changed: threading.Condition = field(default_factory=threading.Condition)

    def acquire(self) -> Instance:
        deadline = time.monotonic() + THROTTLE_WAIT_SECONDS
        with self.changed:
            while not self.idle and len(self.instances) + self.loading >= self.cap:
                if not self.changed.wait(timeout=max(0.0, deadline - time.monotonic())):
                    self.throttled += 1
                    raise Throttled(self.spec.logical_id)
            self.in_flight += 1
            self.invocations += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            if self.idle:
                return self.idle.pop()  # the most recently used: warm, as Lambda prefers
            self.loading += 1
            self.created += 1
            number = self.created
        try:
            instance = _load(self.spec, number)
        except BaseException:
            with self.changed:
                self.loading -= 1
                self.in_flight -= 1
                self.changed.notify()
            raise
        with self.changed:
            self.loading -= 1
            self.instances.append(instance)
            self.instances.sort(key=lambda each: each.number)
        return instance

    def release(self, instance: Instance) -> None:
        with self.changed:
            self.in_flight -= 1
            self.idle.append(instance)
            self.changed.notify()

    def first(self) -> Instance:
        """Instance 1, loaded if needed (for reading a module's attributes: routes, models)."""
        with self.changed:
            if self.instances:
                return self.instances[0]
        instance = self.acquire()
        self.release(instance)
        return self.instances[0]

    def stats(self) -> dict[str, int]:
        with self.changed:
            return {
                "instances": len(self.instances),
                "busy": self.in_flight,
                "max_in_flight": self.max_in_flight,
                "invocations": self.invocations,
                "throttled": self.throttled,
            }


_pools_lock = threading.Lock()
_pools: dict[str, Pool] = {}


def pool_for(spec: FunctionSpec) -> Pool:
    with _pools_lock:
        if spec.logical_id not in _pools:
            _pools[spec.logical_id] = Pool(spec)
        return _pools[spec.logical_id]


def concurrency() -> dict[str, dict[str, int]]:
    """Per function: instances created, busy now, most invocations at once, invocations, throttles."""
    with _pools_lock:
        pools = dict(_pools)
    return {name: pool.stats() for name, pool in sorted(pools.items())}


def invoke(spec: FunctionSpec, event: dict[str, Any]) -> Any:
    """One invocation on a free instance of the function (a new one if all are busy). A function whose invocation
    synchronously delivers an event to itself gets a second instance, as it would in Lambda."""
    pool = pool_for(spec)
    instance = pool.acquire()
    try:
        # Context variables (Powertools' thread-safe keys, the instance's log state) are the invocation's own.
        return contextvars.copy_context().run(_run, spec, instance, event)
    finally:
        pool.release(instance)


def _run(spec: FunctionSpec, instance: Instance, event: dict[str, Any]) -> Any:
    _LogState.current.set(instance.log_state)
    return instance.handler(event, context_for(spec, instance.number))


def load_handler(spec: FunctionSpec) -> Handler:
    return pool_for(spec).first().handler


def load_module(spec: FunctionSpec) -> Any:
    return pool_for(spec).first().module


# ---------- each instance's own logger keys ----------


class _LogState:
    """Makes a Powertools formatter's keys (its one mutable attribute, log_format) belong to the instance whose
    invocation is running; outside any invocation (imports, tests calling handlers directly) they are shared."""

    current: contextvars.ContextVar[dict[int, dict[str, Any]] | None] = contextvars.ContextVar(
        "frontdesk_local_instance_log_state", default=None
    )
    _installed: set[int] = set()

    @classmethod
    def install(cls) -> None:
        from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

        for logger in [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]:
            for handler in getattr(logger, "handlers", []):
                formatter = handler.formatter
                if isinstance(formatter, LambdaPowertoolsFormatter) and id(formatter) not in cls._installed:
                    cls._installed.add(id(formatter))
                    initial = dict(formatter.log_format)
                    formatter.__class__ = type(
                        f"PerInstance{type(formatter).__name__}",
                        (type(formatter),),
                        {"log_format": _per_instance_keys(initial), "__module__": __name__},
                    )
                    formatter.__dict__["_shared_log_format"] = formatter.__dict__.pop("log_format")


def _per_instance_keys(initial: dict[str, Any]) -> property:
    def get(formatter: Any) -> dict[str, Any]:
        state = _LogState.current.get()
        if state is None:
            return formatter.__dict__["_shared_log_format"]  # type: ignore[no-any-return]
        return state.setdefault(id(formatter), dict(initial))

    def put(formatter: Any, value: dict[str, Any]) -> None:
        state = _LogState.current.get()
        if state is None:
            formatter.__dict__["_shared_log_format"] = value
        else:
            state[id(formatter)] = value

    return property(get, put)


# ---------- each invocation's own current event (Powertools event handler) ----------


class _RouterState:
    """BaseRouter.current_event / lambda_context are class attributes, written by every resolve() of the process:
    here they live in context variables, so each invocation (run in its own context by invoke) reads its own."""

    event: contextvars.ContextVar[Any] = contextvars.ContextVar("frontdesk_local_current_event")
    context: contextvars.ContextVar[Any] = contextvars.ContextVar("frontdesk_local_lambda_context")
    _installed = False

    @classmethod
    def install(cls) -> None:
        from aws_lambda_powertools.event_handler.api_gateway import BaseRouter

        if cls._installed:
            return
        cls._installed = True

        def slot(var: contextvars.ContextVar[Any], name: str) -> property:
            def get(_owner: Any) -> Any:
                try:
                    return var.get()
                except LookupError:
                    raise AttributeError(name) from None

            def put(_owner: Any, value: Any) -> None:
                var.set(value)

            return property(get, put)

        slots = {
            "current_event": slot(cls.event, "current_event"),
            "lambda_context": slot(cls.context, "lambda_context"),
        }
        # Instance-level reads and writes (app.current_event, router.api_resolver.current_event) go through the class;
        # class-level ones (BaseRouter.current_event = ...) through the metaclass, set last.
        for name, descriptor in slots.items():
            setattr(BaseRouter, name, descriptor)
        BaseRouter.__class__ = type("PerInvocationRouterMeta", (type(BaseRouter),), dict(slots))
