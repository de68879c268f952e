"""Recurrence expansion on local wall-clock time, DST rules and rule validation."""

# Local wall-clock times are naive on purpose: they are expanded before any zone applies.
# ruff: noqa: DTZ001

from __future__ import annotations

import datetime as dt
import time

import pytest

from outreach.scheduling.recurrence import (
    MAX_OCCURRENCES,
    RuleError,
    count_instances,
    local_starts,
    parse_local,
    parse_rule,
    to_utc,
    zone,
)

LJUBLJANA = zone("Europe/Ljubljana")
HELSINKI = zone("Europe/Helsinki")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=dt.UTC)


def expand_utc(
    start: dt.datetime, rule: str, tz_name: str, until: dt.datetime
) -> list[dt.datetime]:
    tz = zone(tz_name)
    parsed = parse_rule(rule, tz=tz, all_day=False)
    return [to_utc(local, tz) for local in local_starts(start, parsed, tz, until_local=until)]


@pytest.mark.parametrize(
    ("tz_name", "before", "after"),
    [
        # 10:00 stays 10:00: CET (+1) before 29 March, CEST (+2) after.
        ("Europe/Ljubljana", utc(2026, 3, 22, 9), utc(2026, 3, 29, 8)),
        # EET (+2) before, EEST (+3) after.
        ("Europe/Helsinki", utc(2026, 3, 22, 8), utc(2026, 3, 29, 7)),
    ],
)
def test_weekly_ten_oclock_stays_ten_across_spring_change(
    tz_name: str, before: dt.datetime, after: dt.datetime
) -> None:
    starts = expand_utc(
        dt.datetime(2026, 3, 22, 10), "FREQ=WEEKLY;COUNT=2", tz_name, dt.datetime(2027, 1, 1)
    )
    assert starts == [before, after]


@pytest.mark.parametrize(
    ("tz_name", "before", "after"),
    [
        ("Europe/Ljubljana", utc(2026, 10, 18, 8), utc(2026, 10, 25, 9)),
        ("Europe/Helsinki", utc(2026, 10, 18, 7), utc(2026, 10, 25, 8)),
    ],
)
def test_weekly_ten_oclock_stays_ten_across_autumn_change(
    tz_name: str, before: dt.datetime, after: dt.datetime
) -> None:
    starts = expand_utc(
        dt.datetime(2026, 10, 18, 10), "FREQ=WEEKLY;COUNT=2", tz_name, dt.datetime(2027, 1, 1)
    )
    assert starts == [before, after]


@pytest.mark.parametrize(
    ("tz_name", "local_time", "expected"),
    [
        # 02:30 does not exist on 29 March in Ljubljana (02:00 -> 03:00): it becomes 03:30
        # CEST, i.e. 01:30 UTC, the same instant as 02:30 CET would have been.
        (
            "Europe/Ljubljana",
            dt.time(2, 30),
            [utc(2026, 3, 28, 1, 30), utc(2026, 3, 29, 1, 30), utc(2026, 3, 30, 0, 30)],
        ),
        # Helsinki jumps 03:00 -> 04:00: 03:30 becomes 04:30 EEST = 01:30 UTC.
        (
            "Europe/Helsinki",
            dt.time(3, 30),
            [utc(2026, 3, 28, 1, 30), utc(2026, 3, 29, 1, 30), utc(2026, 3, 30, 0, 30)],
        ),
    ],
)
def test_spring_gap_shifts_forward_by_the_gap(
    tz_name: str, local_time: dt.time, expected: list[dt.datetime]
) -> None:
    start = dt.datetime.combine(dt.date(2026, 3, 28), local_time)
    assert expand_utc(start, "FREQ=DAILY;COUNT=3", tz_name, dt.datetime(2027, 1, 1)) == expected


@pytest.mark.parametrize(
    ("tz_name", "local_time", "expected"),
    [
        # 02:30 happens twice on 25 October in Ljubljana: the first (CEST, 00:30 UTC) counts.
        (
            "Europe/Ljubljana",
            dt.time(2, 30),
            [utc(2026, 10, 24, 0, 30), utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)],
        ),
        (
            "Europe/Helsinki",
            dt.time(3, 30),
            [utc(2026, 10, 24, 0, 30), utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)],
        ),
    ],
)
def test_autumn_overlap_takes_the_first_occurrence(
    tz_name: str, local_time: dt.time, expected: list[dt.datetime]
) -> None:
    start = dt.datetime.combine(dt.date(2026, 10, 24), local_time)
    assert expand_utc(start, "FREQ=DAILY;COUNT=3", tz_name, dt.datetime(2027, 1, 1)) == expected


def test_start_counts_as_first_instance_even_off_rule() -> None:
    # A Monday start with a Tuesday rule: DTSTART is the first instance (RFC 5545).
    starts = list(
        local_starts(
            dt.datetime(2026, 11, 30, 17),
            parse_rule("FREQ=WEEKLY;BYDAY=TU;COUNT=2", tz=LJUBLJANA, all_day=False),
            LJUBLJANA,
            until_local=dt.datetime(2027, 1, 1),
        )
    )
    assert starts == [
        dt.datetime(2026, 11, 30, 17),
        dt.datetime(2026, 12, 1, 17),
        dt.datetime(2026, 12, 8, 17),
    ]


def test_expansion_stops_at_the_horizon() -> None:
    tz = LJUBLJANA
    rule = parse_rule("FREQ=DAILY", tz=tz, all_day=False)
    starts = list(
        local_starts(dt.datetime(2026, 12, 1, 9), rule, tz, until_local=dt.datetime(2026, 12, 4, 9))
    )
    assert starts == [dt.datetime(2026, 12, d, 9) for d in (1, 2, 3, 4)]


def test_until_is_normalised_to_utc_for_timed_and_to_a_date_for_all_day() -> None:
    assert parse_rule("rrule:freq=weekly;until=20261231", tz=LJUBLJANA, all_day=False).text == (
        "FREQ=WEEKLY;UNTIL=20261231T225959Z"
    )
    assert parse_rule("FREQ=WEEKLY;UNTIL=20261231T100000", tz=HELSINKI, all_day=False).text == (
        "FREQ=WEEKLY;UNTIL=20261231T080000Z"
    )
    assert parse_rule("FREQ=WEEKLY;UNTIL=20261231T230000Z", tz=LJUBLJANA, all_day=True).text == (
        "FREQ=WEEKLY;UNTIL=20270101"
    )


def test_until_bounds_expansion_in_local_time() -> None:
    rule = parse_rule("FREQ=WEEKLY;UNTIL=20261215", tz=LJUBLJANA, all_day=False)
    starts = list(
        local_starts(
            dt.datetime(2026, 12, 1, 18), rule, LJUBLJANA, until_local=dt.datetime(2027, 6, 1)
        )
    )
    assert starts == [
        dt.datetime(2026, 12, 1, 18),
        dt.datetime(2026, 12, 8, 18),
        dt.datetime(2026, 12, 15, 18),
    ]


@pytest.mark.parametrize(
    ("rule", "problem"),
    [
        ("FREQ=HOURLY", "FREQ=HOURLY is not allowed: events repeat at most daily"),
        ("FREQ=MINUTELY;COUNT=5", "FREQ=MINUTELY is not allowed: events repeat at most daily"),
        ("FREQ=SECONDLY", "FREQ=SECONDLY is not allowed: events repeat at most daily"),
        ("FREQ=FORTNIGHTLY", "FREQ must be one of DAILY, WEEKLY, MONTHLY, YEARLY"),
        ("BYDAY=MO", "FREQ is required"),
        (
            "FREQ=DAILY;BYHOUR=1,2,3",
            "BYHOUR is not supported (supported: FREQ, INTERVAL, COUNT, UNTIL, BYDAY,"
            " BYMONTHDAY, BYMONTH, BYSETPOS, WKST)",
        ),
        ("FREQ=DAILY;COUNT=1001", "COUNT must be between 1 and 1000"),
        ("FREQ=DAILY;COUNT=0", "COUNT must be between 1 and 1000"),
        ("FREQ=DAILY;COUNT=99999999999", "COUNT must be a whole number, not '99999999999'"),
        ("FREQ=DAILY;COUNT=2;UNTIL=20270101", "COUNT and UNTIL cannot both be given"),
        ("FREQ=DAILY;FREQ=WEEKLY", "FREQ is given twice"),
        ("FREQ=WEEKLY;BYDAY=XX", "BYDAY 'XX' is not a weekday such as MO, 2TU or -1FR"),
        ("FREQ=WEEKLY;BYDAY=2TU", "numbered weekdays (2TU) need FREQ=MONTHLY or YEARLY"),
        (
            "FREQ=MONTHLY;BYDAY=6MO",
            "the number before a BYDAY weekday must be between -5 and 5",
        ),
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "BYMONTHDAY never falls in the months of BYMONTH"),
        ("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", "BYMONTHDAY never falls in the months of BYMONTH"),
        (
            "FREQ=MONTHLY;BYDAY=1MO;BYMONTHDAY=20",
            "BYMONTHDAY cannot be combined with numbered weekdays",
        ),
        (
            "FREQ=WEEKLY;BYDAY=MO;BYSETPOS=2",
            "BYSETPOS is only supported with FREQ=MONTHLY and plain BYDAY",
        ),
        ("FREQ=MONTHLY;BYDAY=MO;BYSETPOS=5", "BYSETPOS must be between -4 and 4"),
        (
            "FREQ=WEEKLY;UNTIL=2026-12-31",
            "UNTIL must be a date (20261231) or a UTC date-time (20261231T230000Z)",
        ),
        ("FREQ=WEEKLY;UNTIL=20261340", "UNTIL '20261340' is not a valid date"),
        ("FREQ=WEEKLY;INTERVAL=0", "INTERVAL must be between 1 and 366"),
        ("FREQ", "'FREQ' is not NAME=VALUE"),
        ("FREQ=MONTHLY;BYDAY=0MO", "the number before a BYDAY weekday must not be 0"),
        ("", "must be a rule of 1 to 500 characters"),
    ],
)
def test_invalid_rules_are_refused_with_a_reason(rule: str, problem: str) -> None:
    with pytest.raises(RuleError) as caught:
        parse_rule(rule, tz=LJUBLJANA, all_day=False)
    assert str(caught.value) == problem


def test_refused_impossible_rules_are_refused_fast() -> None:
    # dateutil would search until the year 9999 for an instance of these.
    began = time.perf_counter()
    for rule in ("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=31", "FREQ=MONTHLY;BYDAY=MO;BYSETPOS=6"):
        with pytest.raises(RuleError):
            parse_rule(rule, tz=LJUBLJANA, all_day=False)
    assert time.perf_counter() - began < 0.05


def test_last_weekday_of_the_month() -> None:
    rule = parse_rule(
        "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1;COUNT=3", tz=LJUBLJANA, all_day=False
    )
    starts = list(
        local_starts(
            dt.datetime(2026, 11, 30, 9), rule, LJUBLJANA, until_local=dt.datetime(2028, 1, 1)
        )
    )
    assert starts == [
        dt.datetime(2026, 11, 30, 9),
        dt.datetime(2026, 12, 31, 9),
        dt.datetime(2027, 1, 29, 9),
    ]


def test_count_instances_is_capped() -> None:
    rule = parse_rule("FREQ=DAILY", tz=LJUBLJANA, all_day=False)
    assert (
        count_instances(
            dt.datetime(2026, 1, 1, 9), rule, LJUBLJANA, until_local=dt.datetime(2040, 1, 1)
        )
        == MAX_OCCURRENCES + 1
    )
    assert (
        count_instances(
            dt.datetime(2026, 1, 1, 9), rule, LJUBLJANA, until_local=dt.datetime(2026, 1, 10, 9)
        )
        == 10
    )


@pytest.mark.parametrize(
    "name", ["Europe/Atlantis", "", "../etc/passwd", " Europe/Ljubljana", "UTC\x00"]
)
def test_unknown_zones_are_refused(name: str) -> None:
    with pytest.raises(RuleError):
        zone(name)


def test_parse_local() -> None:
    assert parse_local("2026-12-01") == dt.datetime(2026, 12, 1)
    assert parse_local("2026-12-01T10:00:00") == dt.datetime(2026, 12, 1, 10)
    with pytest.raises(RuleError):
        parse_local("2026-12-01T10:00:00+01:00")
    with pytest.raises(RuleError):
        parse_local("yesterday")
