"""The PhoneJobs Lambda as EventBridge Scheduler invokes it: each schedule's Input names a job it runs."""

from __future__ import annotations

import pytest

from infra.local.functions import invoke
from infra.template import wiring

pytestmark = pytest.mark.integration


def test_r_phone_3_and_6_every_schedule_runs_its_job(dynamodb: str) -> None:
    wired = wiring()
    schedules = {s.name: s for s in wired.schedules if s.function == "PhoneJobsFunction"}
    assert set(schedules) == {"expire-phone-requests", "remind-phone-requests"}
    expired = invoke(wired.functions["PhoneJobsFunction"], dict(schedules["expire-phone-requests"].input))
    reminded = invoke(wired.functions["PhoneJobsFunction"], dict(schedules["remind-phone-requests"].input))
    assert set(expired) == {"expired", "skipped"} and set(reminded) == {"reminded", "deferred", "skipped_opted_out"}


def test_an_unknown_job_fails_loudly_so_the_dead_letter_queue_gets_it(dynamodb: str) -> None:
    wired = wiring()
    with pytest.raises(ValueError):
        invoke(wired.functions["PhoneJobsFunction"], {"job": "nope"})
