"""config/cron.py reads a schedule as a Kubernetes CronJob does: robfig/cron v3.0.1's standard parser.

The table is what the real parser answered: robfig/cron v3.0.1 (ccba498c39) `ParseStandard`,
compiled with Go 1.19 and run on each input on 2026-12-06 (the project's research notes of issue
#30). The next-firing search is held to the definition: the first minute the bit sets match.
"""

from __future__ import annotations

import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config import cron

# (schedule, None when robfig accepts it, else its error text)
ROBFIG = [
    ("0 0 * * * *", "expected exactly 5 fields, found 6: [0 0 * * * *]"),
    ("60 * * * *", "end of range (60) above maximum (59): 60"),
    ("0 24 * * *", "end of range (24) above maximum (23): 24"),
    ("0 0 0 * *", "beginning of range (0) below minimum (1): 0"),
    ("0 0 * 13 *", "end of range (13) above maximum (12): 13"),
    ("0 0 * * 7", "end of range (7) above maximum (6): 7"),
    ("5-1 * * * *", "beginning of range (5) beyond end of range (1): 5-1"),
    ("0 0 * * FRI-MON", "beginning of range (5) beyond end of range (1): FRI-MON"),
    ("*/0 * * * *", "step of range should be a positive number: */0"),
    ("5/10 * * * *", None), ("*/61 * * * *", None), ("+5 * * * *", None), ("1,,2 * * * *", None),
    ("* * * * ?", None),
    ("1-2-3 * * * *", "too many hyphens: 1-2-3"),
    ("1/2/3 * * * *", "too many slashes: 1/2/3"),
    ("0 0 L * *", 'failed to parse int from L: strconv.Atoi: parsing "L": invalid syntax'),
    ("0 0 15W * *", 'failed to parse int from 15W: strconv.Atoi: parsing "15W": invalid syntax'),
    ("0 0 * * 1#2", 'failed to parse int from 1#2: strconv.Atoi: parsing "1#2": invalid syntax'),
    ("0 0 * * SUNDAY", 'failed to parse int from SUNDAY: strconv.Atoi: parsing "SUNDAY": invalid syntax'),
    ("-1 * * * *", 'failed to parse int from : strconv.Atoi: parsing "": invalid syntax'),
    ("0 0 * JAN-MAR MON-FRI", None), ("0 0 * jan mon", None), ("0 0 * Jan Mon", None),
    ("@yearly", None), ("@annually", None), ("@monthly", None), ("@weekly", None), ("@daily", None),
    ("@midnight", None), ("@hourly", None),
    ("@every", "unrecognized descriptor: @every"), ("@reboot", "unrecognized descriptor: @reboot"),
    ("@YEARLY", "unrecognized descriptor: @YEARLY"),
    ("", "empty spec string"),
]


@pytest.mark.parametrize("spec, error", ROBFIG, ids=[s or "(empty)" for s, _ in ROBFIG])
def test_the_parser_answers_as_robfig_did(spec, error):
    if error is None:
        cron.parse(spec)
    else:
        with pytest.raises(cron.CronError) as raised:
            cron.parse(spec)
        assert str(raised.value) == error


def at(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text)


@pytest.mark.parametrize("spec, after, expected", [
    ("0 8 * * 1-5", "2026-12-04T20:00:00+08:00", "2026-12-07T08:00:00+08:00"),  # Friday evening -> Monday
    ("0 8 * * 1-5", "2026-12-07T08:00:00+08:00", "2026-12-08T08:00:00+08:00"),  # strictly after
    # Both day fields restricted: either matches (spec.go dayMatches); 13th of Dec 2026 is a Sunday.
    ("0 0 13 * 5", "2026-12-05T00:00:00+08:00", "2026-12-11T00:00:00+08:00"),
    # A step above 1 clears the star bit (parser.go L291-293): `*/2` days OR Friday, not AND.
    ("0 0 */2 * 5", "2026-12-01T12:00:00+08:00", "2026-12-03T00:00:00+08:00"),
    ("@weekly", "2026-12-01T00:00:00+08:00", "2026-12-06T00:00:00+08:00"),  # Sunday midnight
    ("0 0 29 2 *", "2027-03-01T00:00:00+08:00", "2028-02-29T00:00:00+08:00"),
    ("0 0 30 2 *", "2026-12-01T00:00:00+08:00", None),  # never: Next gives up after five years
])
def test_the_next_firing_is_the_first_matching_minute(spec, after, expected):
    found = cron.parse(spec).next_after(at(after), "Asia/Shanghai")
    assert found == (at(expected) if expected else None)


def test_the_last_firing_before_a_time():
    schedule = cron.parse("0 20 * * 1-5")
    assert schedule.last_before(at("2026-12-07T00:00:00+08:00"), "Asia/Shanghai") == at("2026-12-04T20:00:00+08:00")
    assert schedule.last_before(at("2026-12-07T20:00:00+08:00"), "Asia/Shanghai") == at("2026-12-04T20:00:00+08:00")


FIELD = st.one_of(st.just("*"), st.integers(0, 5).map(str), st.tuples(st.integers(0, 3), st.integers(4, 6)).map(
    lambda r: f"{r[0]}-{r[1]}"), st.integers(1, 7).map(lambda n: f"*/{n}"))


@settings(max_examples=60)
@given(minute=FIELD, hour=FIELD, dom=st.one_of(st.just("*"), st.integers(1, 28).map(str), st.just("*/3")),
       dow=FIELD.filter(lambda f: "7" not in f and "*/" not in f), start=st.integers(0, 60 * 24 * 7))
def test_no_minute_before_the_next_firing_matches(minute, hour, dom, dow, start):
    """Against the definition: brute force over every minute of three days."""
    schedule = cron.parse(f"{minute} {hour} {dom} * {dow}")
    zone = datetime.timezone(datetime.timedelta(hours=8))
    after = datetime.datetime(2026, 11, 30, tzinfo=zone) + datetime.timedelta(minutes=start)
    window = [after + datetime.timedelta(minutes=m) for m in range(1, 3 * 24 * 60)]

    def matches(t: datetime.datetime) -> bool:
        return bool(1 << t.minute & schedule.minute and 1 << t.hour & schedule.hour
                    and 1 << t.month & schedule.month and schedule.day_matches(t.date()))

    first = next((t for t in window if matches(t)), None)
    found = schedule.next_after(after, "Asia/Shanghai")
    if first is None:
        assert found is None or found > window[-1]
    else:
        assert found == first
