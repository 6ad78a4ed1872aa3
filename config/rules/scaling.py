"""Autoscaling: the HPA's bounds, and the idle schedule (two firings, in a zone that means what it says)."""

from __future__ import annotations

import datetime
import re
from typing import Optional

from .. import cron
from ..errors import Problem
from ..schema import AutoscalingSettings, IdleSettings
from .check import rule, warning


@rule
def replica_bounds(autoscaling: AutoscalingSettings) -> list[Problem]:
    a = autoscaling
    if a.min_replicas <= a.max_replicas:
        return []
    return [("autoscaling.minReplicas", f"must not exceed autoscaling.maxReplicas ({a.min_replicas} > "
                                        f"{a.max_replicas})")]


def next_firing(schedule: str, time_zone: str, after: datetime.datetime,
                years: int = 1) -> Optional[datetime.datetime]:
    """When a schedule (one the schema accepted) next fires after `after`, within `years`."""
    return cron.parse(schedule).next_after(after, time_zone, years)


def idle_problems(idle: IdleSettings, now: Optional[datetime.datetime] = None) -> list[Problem]:
    """A schedule needs both times, each firing within a year, and two different times."""
    if idle.mode != "schedule":
        return []
    if idle.wake is None or idle.sleep is None:
        return [(f"autoscaling.idle.{key}", "is required with autoscaling.idle.mode schedule")
                for key in ("wake", "sleep") if getattr(idle, key) is None]
    problems: list[Problem] = []
    now = now or datetime.datetime.now(datetime.UTC)
    for key, schedule in (("wake", idle.wake), ("sleep", idle.sleep)):
        if next_firing(schedule, idle.time_zone, now) is None:
            what = "never wakes: the service would stay at zero" if key == "wake" else \
                "never sleeps: use autoscaling.idle.mode always-on"
            problems.append((f"autoscaling.idle.{key}", f"{schedule!r} does not fire within a year, so the "
                                                       f"schedule {what}"))
    if idle.wake == idle.sleep:
        problems.append(("autoscaling.idle.sleep", f"is the same as autoscaling.idle.wake ({idle.wake!r})"))
    return problems


@rule
def idle_schedule(autoscaling: AutoscalingSettings) -> list[Problem]:
    return idle_problems(autoscaling.idle)


@warning
def idle_unused(autoscaling: AutoscalingSettings) -> list[str]:
    idle = autoscaling.idle
    unused = [k for k, name in (("wake", "wake"), ("sleep", "sleep"), ("timeZone", "time_zone"))
              if name in idle.model_fields_set]
    if idle.mode != "always-on" or not unused:
        return []
    return [f"autoscaling.idle.{', autoscaling.idle.'.join(unused)} ha{'s' if len(unused) == 1 else 've'} "
            "no effect with autoscaling.idle.mode always-on: the service never sleeps"]


# The IANA database's fixed-offset zones keep the POSIX sign: Etc/GMT+8 is eight hours *behind* UTC
# (tz database, file `etcetera` at tzdata2023c: "Be consistent with POSIX TZ settings in the Zone
# names, even though this is the opposite of what many people expect ... TZ='Etc/GMT+4' ...
# corresponds to 4 hours behind UT"; zoneinfo agrees, tests/test_front_door.py).
_ETC_OFFSET = re.compile(r"Etc/GMT([+-])([0-9]{1,2})")


@warning
def posix_sign(autoscaling: AutoscalingSettings) -> list[str]:
    idle = autoscaling.idle
    match = _ETC_OFFSET.fullmatch(idle.time_zone)
    if idle.mode != "schedule" or match is None or match.group(2) == "0":
        return []
    sign, hours = match.groups()
    actual = f"UTC{'-' if sign == '+' else '+'}{hours}"
    meant = f"UTC{sign}{hours}"
    return [f"autoscaling.idle.timeZone {idle.time_zone} is {actual}, not {meant}: the Etc zones keep the POSIX "
            f"sign; for {meant} write Etc/GMT{'-' if sign == '+' else '+'}{hours}, or a city's zone such as "
            "Asia/Shanghai"]
