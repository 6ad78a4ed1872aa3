"""Cron schedules exactly as a Kubernetes CronJob reads them: robfig/cron v3's standard parser.

Kubernetes validates `.spec.schedule` with `cron.ParseStandard` and its controller computes the
next run with the schedule that returns (robfig/cron v3.0.1, ccba498c39: parser.go, spec.go). A
croniter-style parser accepts more (`L`, `#`, a range that wraps, `7` for Sunday), which the API
server would refuse in the middle of `pulumi up`; and it answers some questions differently. So the
parser and the next-firing search here are transcribed from robfig's, and everything in the stack
that reads a schedule (the config check, the `awakeHours` output, the planner) reads it here.
"""

from __future__ import annotations

import datetime
import re
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Optional

# spec.go L20-48 (v3.0.1): each field's bounds and names; parser.go L319-327 lowercases a name.
_FIELDS = (
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    ("month", 1, 12, {n: i + 1 for i, n in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"))}),
    ("day of week", 0, 6, {n: i for i, n in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}),
)
# spec.go L52-55: set when a field is `*` or `?` (and no step above 1), which dayMatches reads.
STAR = 1 << 63
# parser.go L375-433: the descriptors ParseStandard takes (its Descriptor option), as bit sets
# (minute, hour, day of month, month, day of week); `@every <duration>` is handled apart.
_ALL = {i: ((1 << (hi + 1)) - (1 << lo)) | STAR for i, (_, lo, hi, _) in enumerate(_FIELDS)}
DESCRIPTORS = {
    "@yearly": (1, 1, 1 << 1, 1 << 1, _ALL[4]),
    "@annually": (1, 1, 1 << 1, 1 << 1, _ALL[4]),
    "@monthly": (1, 1, 1 << 1, _ALL[3], _ALL[4]),
    "@weekly": (1, 1, _ALL[2], _ALL[3], 1 << 0),
    "@daily": (1, 1, _ALL[2], _ALL[3], _ALL[4]),
    "@midnight": (1, 1, _ALL[2], _ALL[3], _ALL[4]),
    "@hourly": (1, _ALL[1], _ALL[2], _ALL[3], _ALL[4]),
}
# Go's strconv.Atoi as mustParseInt uses it (parser.go L330-341): ASCII digits, an optional sign.
_ATOI = re.compile(r"[+-]?[0-9]+")


class CronError(ValueError):
    """The schedule is one robfig/cron's standard parser refuses; the text says why, as it does."""


@dataclass(frozen=True)
class SpecSchedule:
    """A parsed five-field schedule: one bit set per field (spec.go SpecSchedule, seconds at 0)."""

    minute: int
    hour: int
    dom: int
    month: int
    dow: int

    def day_matches(self, day: datetime.date) -> bool:
        """spec.go dayMatches L180-190: both day fields must match if either is a star; else either."""
        dom = bool(1 << day.day & self.dom)
        dow = bool(1 << ((day.weekday() + 1) % 7) & self.dow)  # Go's Weekday: Sunday is 0
        if self.dom & STAR or self.dow & STAR:
            return dom and dow
        return dom or dow

    def times(self, day: datetime.date) -> list[tuple[int, int]]:
        """The (hour, minute) pairs it fires at on `day`, in order (none on a day it does not match)."""
        if not (1 << day.month & self.month and self.day_matches(day)):
            return []
        return [(h, m) for h in range(24) if 1 << h & self.hour for m in range(60) if 1 << m & self.minute]

    def firings(self, after: datetime.datetime, before: datetime.datetime, zone: str) -> Iterator[datetime.datetime]:
        """Every firing strictly between `after` and `before`, in `zone`, in order."""
        tz = zoneinfo.ZoneInfo(zone)
        low, high = after.astimezone(tz), before.astimezone(tz)
        day = low.date()
        while day <= high.date():
            for hour, minute in self.times(day):
                at = datetime.datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)
                if low < at < high:
                    yield at
            day += datetime.timedelta(days=1)

    def next_after(self, after: datetime.datetime, zone: str, years: int = 5) -> Optional[datetime.datetime]:
        """The first firing strictly after `after`, within `years` (spec.go Next gives up after five:
        a schedule that never fires, `0 0 30 2 *`, returns nothing). It reads the fields in Next's
        order (month, day, hour, minute), without Next's special case for a midnight a DST change
        skips: the stack's schedules are in the zone the user names, and a time the clock skips is
        a time no CronJob fires at either."""
        return next(self.firings(after, after + datetime.timedelta(days=366 * years), zone), None)

    def last_before(self, before: datetime.datetime, zone: str, years: int = 5) -> Optional[datetime.datetime]:
        """The last firing strictly before `before`, within `years`."""
        tz = zoneinfo.ZoneInfo(zone)
        high = before.astimezone(tz)
        day, stop = high.date(), high.date() - datetime.timedelta(days=366 * years)
        while day >= stop:
            for hour, minute in reversed(self.times(day)):
                at = datetime.datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)
                if at < high:
                    return at
            day -= datetime.timedelta(days=1)
        return None


def _atoi(text: str, expr: str) -> int:
    """parser.go mustParseInt L330-341, with Go's strconv.Atoi errors (64-bit ints)."""
    if not _ATOI.fullmatch(text):
        raise CronError(f'failed to parse int from {text}: strconv.Atoi: parsing "{text}": invalid syntax')
    number = int(text)
    if not -(2**63) <= number < 2**63:
        raise CronError(f'failed to parse int from {text}: strconv.Atoi: parsing "{text}": value out of range')
    if number < 0:
        raise CronError(f"negative number ({number}) not allowed: {expr}")
    return number


def _int_or_name(text: str, names: dict[str, int], expr: str) -> int:
    """parser.go parseIntOrName L319-327."""
    if names and text.lower() in names:
        return names[text.lower()]
    return _atoi(text, expr)


def _range(expr: str, field: int) -> int:
    """parser.go getRange L245-316: `*`, `?`, `N`, `N-M`, each with an optional `/step`."""
    _, low, high, names = _FIELDS[field]
    range_and_step = expr.split("/")
    low_and_high = range_and_step[0].split("-")
    single = len(low_and_high) == 1
    extra = 0
    if low_and_high[0] in ("*", "?"):
        start, end, extra = low, high, STAR
    else:
        start = _int_or_name(low_and_high[0], names, expr)
        if len(low_and_high) == 1:
            end = start
        elif len(low_and_high) == 2:
            end = _int_or_name(low_and_high[1], names, expr)
        else:
            raise CronError(f"too many hyphens: {expr}")
    if len(range_and_step) == 1:
        step = 1
    elif len(range_and_step) == 2:
        step = _atoi(range_and_step[1], expr)
        if single:  # "N/step" means "N-max/step"
            end = high
        if step > 1:
            extra = 0
    else:
        raise CronError(f"too many slashes: {expr}")
    if start < low:
        raise CronError(f"beginning of range ({start}) below minimum ({low}): {expr}")
    if end > high:
        raise CronError(f"end of range ({end}) above maximum ({high}): {expr}")
    if start > end:
        raise CronError(f"beginning of range ({start}) beyond end of range ({end}): {expr}")
    if step == 0:
        raise CronError(f"step of range should be a positive number: {expr}")
    return sum(1 << i for i in range(start, end + 1, step)) | extra


def parse(spec: str) -> SpecSchedule:
    """robfig/cron v3 `ParseStandard` (parser.go L84-143, L212-227): five fields or a descriptor.
    `@every` and a `TZ=` prefix are refused before (config/schema.py says why)."""
    if not spec:
        raise CronError("empty spec string")
    if spec.startswith("@"):
        if spec not in DESCRIPTORS:
            raise CronError(f"unrecognized descriptor: {spec}")
        return SpecSchedule(*DESCRIPTORS[spec])
    fields = spec.split()
    if len(fields) != 5:
        raise CronError(f"expected exactly 5 fields, found {len(fields)}: [{' '.join(fields)}]")
    bits = []
    for index, text in enumerate(fields):
        value = 0
        for expr in (part for part in text.split(",") if part):  # strings.FieldsFunc drops empty parts
            value |= _range(expr, index)
        bits.append(value)
    return SpecSchedule(*bits)
