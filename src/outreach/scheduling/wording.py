"""Recurrence rules in words, in the language being written in (``outreach.i18n``).

A patron reads "every other Thursday until 30 June 2027", never
``FREQ=WEEKLY;INTERVAL=2;UNTIL=20270630T215959Z;BYDAY=TH``. Every rule that
:func:`outreach.scheduling.recurrence.parse_rule` accepts has words here: daily, weekly,
monthly and yearly rules with an interval, several weekdays, numbered weekdays (the last
Friday of every month), days of the month, months, BYSETPOS, COUNT and UNTIL; excluded
dates and cancelled dates are added as words too.

Slovenian and Macedonian make the words around a weekday agree with its gender ("vsak
četrtek" but "vsako sredo", "секој четврток" but "секоја среда"), and Slovenian dates take
the genitive ("do 30. junija 2027"), so whole phrases are translated (one message per
weekday and per month) rather than glued from words; only lists ("Monday and Thursday")
and numbers are joined here, by Babel.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from zoneinfo import ZoneInfo

from outreach import i18n
from outreach.i18n import ngettext, pgettext
from outreach.scheduling.recurrence import WEEKDAYS, RuleError, parse_local, parse_rule

# The positions of a weekday in a month that have a phrase of their own ("the last
# Friday"); any other (-3 to -5, or the 20th Monday of a year) is counted in numbers.
NAMED_POSITIONS = (1, 2, 3, 4, 5, -1, -2)


def _every_weekday() -> dict[str, str]:
    # Translators: a weekly schedule; in Slovenian and Macedonian "every" agrees with the day.
    return {
        "MO": pgettext("schedule", "every Monday"),
        "TU": pgettext("schedule", "every Tuesday"),
        "WE": pgettext("schedule", "every Wednesday"),
        "TH": pgettext("schedule", "every Thursday"),
        "FR": pgettext("schedule", "every Friday"),
        "SA": pgettext("schedule", "every Saturday"),
        "SU": pgettext("schedule", "every Sunday"),
    }


def _every_other_weekday() -> dict[str, str]:
    # Translators: every second week on this day ("vsak drugi četrtek", "vsako drugo sredo").
    return {
        "MO": pgettext("schedule", "every other Monday"),
        "TU": pgettext("schedule", "every other Tuesday"),
        "WE": pgettext("schedule", "every other Wednesday"),
        "TH": pgettext("schedule", "every other Thursday"),
        "FR": pgettext("schedule", "every other Friday"),
        "SA": pgettext("schedule", "every other Saturday"),
        "SU": pgettext("schedule", "every other Sunday"),
    }


def _on_weekdays() -> dict[str, str]:
    # Translators: weekdays in a list after "on", as in "every week on Mondays and
    # Thursdays" (Slovenian "ob ponedeljkih", Finnish "maanantaisin").
    return {
        "MO": pgettext("schedule: on weekdays", "Mondays"),
        "TU": pgettext("schedule: on weekdays", "Tuesdays"),
        "WE": pgettext("schedule: on weekdays", "Wednesdays"),
        "TH": pgettext("schedule: on weekdays", "Thursdays"),
        "FR": pgettext("schedule: on weekdays", "Fridays"),
        "SA": pgettext("schedule: on weekdays", "Saturdays"),
        "SU": pgettext("schedule: on weekdays", "Sundays"),
    }


def _weekday_of_month() -> dict[tuple[str, int], str]:
    # Translators: one weekday of a month, followed by "of every month" (Slovenian: the
    # accusative with "vsak", as in "vsak zadnji petek v mesecu").
    return {
        ("MO", 1): pgettext("schedule: a weekday of the month", "the first Monday"),
        ("MO", 2): pgettext("schedule: a weekday of the month", "the second Monday"),
        ("MO", 3): pgettext("schedule: a weekday of the month", "the third Monday"),
        ("MO", 4): pgettext("schedule: a weekday of the month", "the fourth Monday"),
        ("MO", 5): pgettext("schedule: a weekday of the month", "the fifth Monday"),
        ("MO", -1): pgettext("schedule: a weekday of the month", "the last Monday"),
        ("MO", -2): pgettext("schedule: a weekday of the month", "the second to last Monday"),
        ("TU", 1): pgettext("schedule: a weekday of the month", "the first Tuesday"),
        ("TU", 2): pgettext("schedule: a weekday of the month", "the second Tuesday"),
        ("TU", 3): pgettext("schedule: a weekday of the month", "the third Tuesday"),
        ("TU", 4): pgettext("schedule: a weekday of the month", "the fourth Tuesday"),
        ("TU", 5): pgettext("schedule: a weekday of the month", "the fifth Tuesday"),
        ("TU", -1): pgettext("schedule: a weekday of the month", "the last Tuesday"),
        ("TU", -2): pgettext("schedule: a weekday of the month", "the second to last Tuesday"),
        ("WE", 1): pgettext("schedule: a weekday of the month", "the first Wednesday"),
        ("WE", 2): pgettext("schedule: a weekday of the month", "the second Wednesday"),
        ("WE", 3): pgettext("schedule: a weekday of the month", "the third Wednesday"),
        ("WE", 4): pgettext("schedule: a weekday of the month", "the fourth Wednesday"),
        ("WE", 5): pgettext("schedule: a weekday of the month", "the fifth Wednesday"),
        ("WE", -1): pgettext("schedule: a weekday of the month", "the last Wednesday"),
        ("WE", -2): pgettext("schedule: a weekday of the month", "the second to last Wednesday"),
        ("TH", 1): pgettext("schedule: a weekday of the month", "the first Thursday"),
        ("TH", 2): pgettext("schedule: a weekday of the month", "the second Thursday"),
        ("TH", 3): pgettext("schedule: a weekday of the month", "the third Thursday"),
        ("TH", 4): pgettext("schedule: a weekday of the month", "the fourth Thursday"),
        ("TH", 5): pgettext("schedule: a weekday of the month", "the fifth Thursday"),
        ("TH", -1): pgettext("schedule: a weekday of the month", "the last Thursday"),
        ("TH", -2): pgettext("schedule: a weekday of the month", "the second to last Thursday"),
        ("FR", 1): pgettext("schedule: a weekday of the month", "the first Friday"),
        ("FR", 2): pgettext("schedule: a weekday of the month", "the second Friday"),
        ("FR", 3): pgettext("schedule: a weekday of the month", "the third Friday"),
        ("FR", 4): pgettext("schedule: a weekday of the month", "the fourth Friday"),
        ("FR", 5): pgettext("schedule: a weekday of the month", "the fifth Friday"),
        ("FR", -1): pgettext("schedule: a weekday of the month", "the last Friday"),
        ("FR", -2): pgettext("schedule: a weekday of the month", "the second to last Friday"),
        ("SA", 1): pgettext("schedule: a weekday of the month", "the first Saturday"),
        ("SA", 2): pgettext("schedule: a weekday of the month", "the second Saturday"),
        ("SA", 3): pgettext("schedule: a weekday of the month", "the third Saturday"),
        ("SA", 4): pgettext("schedule: a weekday of the month", "the fourth Saturday"),
        ("SA", 5): pgettext("schedule: a weekday of the month", "the fifth Saturday"),
        ("SA", -1): pgettext("schedule: a weekday of the month", "the last Saturday"),
        ("SA", -2): pgettext("schedule: a weekday of the month", "the second to last Saturday"),
        ("SU", 1): pgettext("schedule: a weekday of the month", "the first Sunday"),
        ("SU", 2): pgettext("schedule: a weekday of the month", "the second Sunday"),
        ("SU", 3): pgettext("schedule: a weekday of the month", "the third Sunday"),
        ("SU", 4): pgettext("schedule: a weekday of the month", "the fourth Sunday"),
        ("SU", 5): pgettext("schedule: a weekday of the month", "the fifth Sunday"),
        ("SU", -1): pgettext("schedule: a weekday of the month", "the last Sunday"),
        ("SU", -2): pgettext("schedule: a weekday of the month", "the second to last Sunday"),
    }


def _in_months() -> dict[int, str]:
    # Translators: months in a list after "in", as in "every Tuesday in June and July"
    # (Slovenian locative "v juniju", Finnish inessive "kesäkuussa").
    return {
        1: pgettext("schedule: in months", "January"),
        2: pgettext("schedule: in months", "February"),
        3: pgettext("schedule: in months", "March"),
        4: pgettext("schedule: in months", "April"),
        5: pgettext("schedule: in months", "May"),
        6: pgettext("schedule: in months", "June"),
        7: pgettext("schedule: in months", "July"),
        8: pgettext("schedule: in months", "August"),
        9: pgettext("schedule: in months", "September"),
        10: pgettext("schedule: in months", "October"),
        11: pgettext("schedule: in months", "November"),
        12: pgettext("schedule: in months", "December"),
    }


def _day_of_month_names() -> dict[int, str]:
    # Translators: a day and month as after "until" or "except" (Slovenian genitive
    # "%(day)s. junija", Finnish "%(day)s.6."); the year, if any, follows.
    return {
        1: pgettext("schedule: a date", "%(day)s January"),
        2: pgettext("schedule: a date", "%(day)s February"),
        3: pgettext("schedule: a date", "%(day)s March"),
        4: pgettext("schedule: a date", "%(day)s April"),
        5: pgettext("schedule: a date", "%(day)s May"),
        6: pgettext("schedule: a date", "%(day)s June"),
        7: pgettext("schedule: a date", "%(day)s July"),
        8: pgettext("schedule: a date", "%(day)s August"),
        9: pgettext("schedule: a date", "%(day)s September"),
        10: pgettext("schedule: a date", "%(day)s October"),
        11: pgettext("schedule: a date", "%(day)s November"),
        12: pgettext("schedule: a date", "%(day)s December"),
    }


def day_and_month(day: dt.date) -> str:
    """``30 June`` as it reads after "until" or "on" in the current language."""
    return _day_of_month_names()[day.month] % {"day": day.day}


def date_words(day: dt.date) -> str:
    """``30 June 2027`` as it reads after "until" or "except" (``30. junija 2027``)."""
    # Translators: %(date)s is a day and month ("30 June"), %(year)s the year.
    return pgettext("schedule: a date with its year", "%(date)s %(year)s") % {
        "date": day_and_month(day),
        "year": day.year,
    }


def _listed(items: Sequence[str]) -> str:
    return i18n.format_list(list(items))


def _weekday_name(day: str) -> str:
    """Babel's own name of a weekday (nominative, as after "when that is a")."""
    names = i18n.locale().days["stand-alone"]["wide"]
    return str(names[WEEKDAYS.index(day)])


def _split_byday(raw: str | None) -> list[tuple[int | None, str]]:
    """BYDAY as (position or None, weekday): ``-1FR,TU`` → ``[(-1, "FR"), (None, "TU")]``."""
    items = raw.split(",") if raw else []
    return [(int(item[:-2]) if item[:-2] else None, item[-2:]) for item in items]


def _ints(raw: str | None) -> list[int]:
    return [int(item) for item in raw.split(",")] if raw else []


def _ordered_days(days: Iterable[str]) -> list[str]:
    return sorted(set(days), key=WEEKDAYS.index)


def _weekly(days: list[str], interval: int) -> str:
    if len(days) == 1 and interval == 1:
        return _every_weekday()[days[0]]
    if len(days) == 1 and interval == 2:
        return _every_other_weekday()[days[0]]
    on = _on_weekdays()
    listed = _listed([on[day] for day in days])
    if interval == 1:
        return pgettext("schedule", "every week on %(days)s", days=listed)
    if interval == 2:
        return pgettext("schedule", "every other week on %(days)s", days=listed)
    return ngettext(
        "every %(num)s week on %(days)s", "every %(num)s weeks on %(days)s", interval, days=listed
    )


def _daily(interval: int) -> str:
    if interval == 1:
        return pgettext("schedule", "every day")
    if interval == 2:
        return pgettext("schedule", "every other day")
    return ngettext("every %(num)s day", "every %(num)s days", interval)


def _nth_weekday(position: int, day: str, *, of_year: bool = False) -> str:
    if not of_year and position in NAMED_POSITIONS:
        return _weekday_of_month()[(day, position)]
    weekday = _weekday_name(day)
    if of_year:
        if position > 0:
            return pgettext(
                "schedule", "%(weekday)s number %(num)s of the year", weekday=weekday, num=position
            )
        return pgettext(
            "schedule",
            "%(weekday)s number %(num)s counted from the end of the year",
            weekday=weekday,
            num=-position,
        )
    # Translators: followed by "of every month": "Thursday number 3 counted from the end".
    counted = pgettext("schedule", "%(weekday)s number %(num)s counted from the end")
    return counted % {"weekday": weekday, "num": -position}


def _month_day(day: int) -> str:
    if day == -1:
        return pgettext("schedule: a day of the month", "the last day")
    if day < 0:
        return pgettext(
            "schedule: a day of the month", "day %(num)s counted from the end", num=-day
        )
    return pgettext("schedule: a day of the month", "day %(num)s", num=day)


def _of_months(items: str, interval: int) -> str:
    """``items`` of every month (or every other month, every n months)."""
    if interval == 1:
        return pgettext("schedule", "%(days)s of every month", days=items)
    if interval == 2:
        return pgettext("schedule", "%(days)s of every other month", days=items)
    return ngettext(
        "%(days)s of every %(num)s month", "%(days)s of every %(num)s months", interval, days=items
    )


def _month_period(interval: int) -> str:
    if interval == 1:
        return pgettext("schedule", "every month")
    if interval == 2:
        return pgettext("schedule", "every other month")
    return ngettext("every %(num)s month", "every %(num)s months", interval)


def _every_years(phrase: str, interval: int) -> str:
    if interval == 1:
        return phrase
    if interval == 2:
        return pgettext("schedule", "%(rule)s, every other year", rule=phrase)
    return ngettext(
        "%(rule)s, every %(num)s year", "%(rule)s, every %(num)s years", interval, rule=phrase
    )


def _positions(values: list[int]) -> str:
    words = [
        str(value)
        if value > 0
        else pgettext("schedule: a position", "%(num)s from the end", num=-value)
        for value in values
    ]
    return _listed(words)


def _when_weekday(phrase: str, days: list[str]) -> str:
    names = i18n.format_list([_weekday_name(day) for day in days], style="or")
    # Translators: a rule kept only on some weekdays: "day 13 of every month, when that is a
    # Friday"; %(days)s are weekday names joined by "or".
    return pgettext("schedule", "%(rule)s, when that is a %(days)s", rule=phrase, days=names)


def _in_months_phrase(phrase: str, months: list[int]) -> str:
    names = _in_months()
    return pgettext(
        "schedule",
        "%(rule)s in %(months)s",
        rule=phrase,
        months=_listed([names[m] for m in months]),
    )


def _base(parts: dict[str, str], start: dt.datetime) -> str:
    """The rule's pattern in words, without COUNT or UNTIL."""
    freq = parts["FREQ"]
    interval = int(parts.get("INTERVAL", "1"))
    byday = _split_byday(parts.get("BYDAY"))
    plain = _ordered_days(day for number, day in byday if number is None)
    numbered = [(number, day) for number, day in byday if number is not None]
    monthdays = _ints(parts.get("BYMONTHDAY"))
    months = sorted(set(_ints(parts.get("BYMONTH"))))
    setpos = _ints(parts.get("BYSETPOS"))
    start_day = WEEKDAYS[start.weekday()]
    phrase: str
    months_said = False
    if freq == "DAILY":
        if plain and interval == 1 and not monthdays:
            phrase = _weekly(plain, 1)
        elif monthdays and interval == 1:
            phrase = _of_months(_listed([_month_day(d) for d in monthdays]), 1)
            if plain:
                phrase = _when_weekday(phrase, plain)
        else:
            phrase = _daily(interval)
            if monthdays:
                phrase = pgettext(
                    "schedule",
                    "%(rule)s, only on %(days)s",
                    rule=phrase,
                    days=_of_months(_listed([_month_day(d) for d in monthdays]), 1),
                )
            if plain:
                phrase = _when_weekday(phrase, plain)
    elif freq == "WEEKLY":
        phrase = _weekly(plain or [start_day], interval)
    elif freq == "MONTHLY":
        if setpos and plain:
            if len(plain) == 1:
                items = _listed([_nth_weekday(p, plain[0]) for p in setpos])
                phrase = _of_months(items, interval)
            else:
                names = i18n.format_list([_weekday_name(day) for day in plain], style="or")
                # Translators: "every month: day 1 of those that are a Saturday or Sunday";
                # %(names)s are weekday names joined by "or".
                phrase = pgettext(
                    "schedule",
                    "%(rule)s: day %(positions)s of those that are a %(names)s",
                    rule=_month_period(interval),
                    positions=_positions(setpos),
                    names=names,
                )
        elif numbered:
            phrase = _of_months(_listed([_nth_weekday(n, d) for n, d in numbered]), interval)
            if plain:
                phrase = _when_weekday(phrase, plain)
        elif monthdays:
            phrase = _of_months(_listed([_month_day(d) for d in monthdays]), interval)
            if plain:
                phrase = _when_weekday(phrase, plain)
        elif plain:
            # Every such weekday of every (n-th) month.
            phrase = _weekly(plain, 1)
            if interval > 1:
                phrase = pgettext(
                    "schedule", "%(rule)s, %(period)s", rule=phrase, period=_month_period(interval)
                )
        else:
            phrase = _of_months(_month_day(start.day), interval)
    else:  # YEARLY
        if numbered:
            of_year = not months
            items = _listed([_nth_weekday(n, d, of_year=of_year) for n, d in numbered])
            phrase = items if of_year else _of_months(items, 1)
            if plain:
                phrase = _when_weekday(phrase, plain)
        elif plain and not monthdays:
            phrase = _weekly(plain, 1)
        else:
            on_months = months or [start.month]
            days_in = monthdays or [start.day]
            if all(d > 0 for d in days_in):
                on_dates = [
                    day_and_month(dt.date(2000, m, d))
                    for m in on_months
                    for d in days_in
                    if d <= (29 if m == 2 else 30 if m in (4, 6, 9, 11) else 31)
                ]
                phrase = pgettext("schedule", "every year on %(dates)s", dates=_listed(on_dates))
                months_said = True
            else:
                phrase = _of_months(_listed([_month_day(d) for d in days_in]), 1)
            if plain:
                phrase = _when_weekday(phrase, plain)
        phrase = _every_years(phrase, interval)
    if months and not months_said:
        phrase = _in_months_phrase(phrase, months)
    return phrase


def _until_day(raw: str, start: dt.datetime, tz: ZoneInfo) -> dt.date:
    """The last local day an instance can start on: UNTIL's local day, or the day before
    when UNTIL falls earlier that day than the series' time of day."""
    if len(raw) == 8:
        return dt.date(int(raw[:4]), int(raw[4:6]), int(raw[6:8]))
    instant = dt.datetime.strptime(raw, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
    local = instant.astimezone(tz).replace(tzinfo=None)
    if local.time() < start.time():
        return local.date() - dt.timedelta(days=1)
    return local.date()


def describe_rule(
    rrule: str | None,
    *,
    start: dt.datetime,
    tz: ZoneInfo,
    all_day: bool = False,
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> str:
    """The rule in words, ``start`` being the series' first local start (naive).

    ``since``: the day the reader reads it; a series starting later says from when.
    ``until``: the series' last day where the rule itself has no end (a bookmobile route's
    ``valid_until``). An event without a rule happens once: its date in words. A rule that
    :func:`parse_rule` refuses raises :class:`RuleError` (stored rules never do).
    """
    if not rrule:
        return date_words(start.date())
    rule = parse_rule(rrule, tz=tz, all_day=all_day)
    phrase = _base(rule.parts, start)
    if since is not None and start.date() > since:
        phrase = pgettext(
            "schedule", "%(rule)s from %(date)s", rule=phrase, date=date_words(start.date())
        )
    if "UNTIL" in rule.parts:
        until = _until_day(rule.parts["UNTIL"], start, tz)
    if "COUNT" in rule.parts:
        count = int(rule.parts["COUNT"])
        phrase = ngettext("%(rule)s, %(num)s time", "%(rule)s, %(num)s times", count, rule=phrase)
    elif until is not None:
        phrase = pgettext(
            "schedule", "%(rule)s until %(date)s", rule=phrase, date=date_words(until)
        )
    return phrase


def _local_days(raw: Iterable[str]) -> list[dt.date]:
    days: set[dt.date] = set()
    for value in raw:
        try:
            days.add(parse_local(value).date())
        except RuleError:
            continue  # validated on write; an unreadable legacy value is left unsaid
    return sorted(days)


def describe_schedule(
    rrule: str | None,
    *,
    start: dt.datetime,
    tz: ZoneInfo,
    all_day: bool = False,
    exdates: Iterable[str] = (),
    cancelled: Iterable[dt.date] = (),
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> str:
    """The rule in words (:func:`describe_rule`) with its excluded dates (local ISO texts,
    as events store them) and its cancelled days, both from ``since`` on (earlier ones no
    longer matter)."""
    phrase = describe_rule(rrule, start=start, tz=tz, all_day=all_day, since=since, until=until)
    keep: Callable[[dt.date], bool] = (lambda _: True) if since is None else (lambda d: d >= since)
    excluded = [d for d in _local_days(exdates) if keep(d)]
    called_off = sorted({d for d in cancelled if keep(d)} - set(excluded))
    if excluded:
        phrase = pgettext(
            "schedule",
            "%(rule)s, except %(dates)s",
            rule=phrase,
            dates=_listed([date_words(d) for d in excluded]),
        )
    if called_off:
        phrase = pgettext(
            "schedule",
            "%(rule)s; cancelled on %(dates)s",
            rule=phrase,
            dates=_listed([date_words(d) for d in called_off]),
        )
    return phrase
