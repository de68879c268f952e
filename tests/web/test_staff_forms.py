"""The recurrence picker of the event form: form fields → RRULE → form fields again."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from outreach.i18n import speaking
from outreach.scheduling.recurrence import parse_rule
from outreach.web.staff_forms import FormState, field_problems, picker_from_rule, rule_from_form

TZ = ZoneInfo("Europe/Ljubljana")


@pytest.mark.parametrize(
    ("form", "stored"),
    [
        (
            {"repeat": ["weekly"], "repeat_days": ["TH", "TU"], "repeat_count": ["6"]},
            "FREQ=WEEKLY;COUNT=6;BYDAY=TU,TH",
        ),
        ({"repeat": ["biweekly"]}, "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU"),
        (
            {"repeat": ["monthly_day"], "repeat_until": ["2027-06-30"]},
            "FREQ=MONTHLY;UNTIL=20270630T215959Z",
        ),
        ({"repeat": ["monthly_weekday"]}, "FREQ=MONTHLY;BYDAY=1TU"),
        ({"repeat": ["custom"], "rrule": ["FREQ=YEARLY;BYMONTH=3"]}, "FREQ=YEARLY;BYMONTH=3"),
    ],
)
def test_the_picker_writes_a_rule_and_reads_it_back(form: FormState, stored: str) -> None:
    start = "2026-12-01"  # a Tuesday, the first of its month
    rule = rule_from_form({"start_date": [start], **form})
    assert rule is not None
    # The service stores the normalised rule; the edit form must show it the same way.
    normalised = parse_rule(rule, tz=TZ, all_day=False).text
    assert normalised == stored
    picker = picker_from_rule(normalised, f"{start}T10:00:00", TZ)
    assert picker["repeat"] == form["repeat"]
    if "repeat_days" in form:
        assert sorted(picker["repeat_days"]) == sorted(form["repeat_days"])
    for name in ("repeat_until", "repeat_count"):
        assert picker.get(name) == form.get(name)


def test_monthly_on_a_fifth_weekday_means_the_last_one() -> None:
    rule = rule_from_form({"start_date": ["2026-12-29"], "repeat": ["monthly_weekday"]})
    assert rule == "FREQ=MONTHLY;BYDAY=-1TU"
    picker = picker_from_rule(rule, "2026-12-29T10:00:00", TZ)
    assert picker["repeat"] == ["monthly_weekday"]


def test_no_repeat_means_no_rule_and_unusual_rules_stay_custom() -> None:
    assert rule_from_form({"repeat": ["none"], "rrule": ["FREQ=DAILY"]}) is None
    assert picker_from_rule(None, "2026-12-01T10:00:00", TZ) == {
        "repeat": ["none"],
        "rrule": [""],
    }
    # UNTIL at a time the picker cannot write, and a rule on two month days.
    for rule in ("FREQ=WEEKLY;UNTIL=20270101T120000Z;BYDAY=TU", "FREQ=MONTHLY;BYMONTHDAY=1,15"):
        assert picker_from_rule(rule, "2026-12-01T10:00:00", TZ) == {
            "repeat": ["custom"],
            "rrule": [rule],
        }


def test_form_problems_say_where_in_words_never_the_api_path() -> None:
    """The event form lists a problem under its field, naming a translation by its
    language and a list's entry by its number in the page's language."""
    problems = {
        "title.fi": "liian pitkä",
        "exdates[2]": "mora biti datum",
        "tags[0].goal": "cilj ni del strategije",
        "start": "manjka",
        "title.xx-not-a-language": "?",
    }
    with speaking("sl"):
        grouped = field_problems(problems)
    assert grouped == {
        "title": ["Finščina: liian pitkä", "?"],
        "exdates": ["vnos 3: mora biti datum"],
        "tags": ["vnos 1: cilj ni del strategije"],
        "start": ["manjka"],
    }
    with speaking("mk"):
        assert field_problems({"title.sl": "x", "exdates[0]": "y"}) == {
            "title": ["Словенечки: x"],
            "exdates": ["ставка 1: y"],
        }
