"""A Lambda cold start without garbage-collector passes: imported first by every handler module, done() last.

Importing a handler creates some 100,000 long-lived objects (modules, classes, functions, pydantic and botocore
models). Every 700 allocations CPython's cyclic collector runs, and the older generations' passes walk all of them
and free nothing: 10-40 ms of a 200-300 ms INIT here (docs/performance.md). So the collector is off while the
handler module imports; done() moves everything imported to the permanent generation (gc.freeze: later passes
skip it too, for the life of the execution environment) and turns the collector back on for the requests.
tests/unit/test_startup_gc.py checks that every handler of the template leaves it on.
"""

from __future__ import annotations

import gc

gc.disable()


def done() -> None:
    gc.freeze()
    gc.enable()
