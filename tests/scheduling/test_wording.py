"""Recurrence rules in words in the four interface languages (outreach.scheduling.wording):
every kind of rule the product stores, with the grammar each language needs."""

from __future__ import annotations

import datetime as dt

import pytest

from outreach import i18n
from outreach.scheduling.recurrence import RuleError, zone
from outreach.scheduling.wording import date_words, describe_rule, describe_schedule

LJUBLJANA = zone("Europe/Ljubljana")
# A Thursday, 09:00 local (naive: wording reads local wall-clock time), the first start
# of every series below.
START = dt.datetime.fromisoformat("2026-09-03T09:00")

# rule: (English, Slovenian, Macedonian, Finnish)
RULES: dict[str, tuple[str, str, str, str]] = {
    "FREQ=WEEKLY;INTERVAL=2;BYDAY=TH;UNTIL=20270630T215959Z": (
        "every other Thursday until 30 June 2027",
        "vsak drugi četrtek do 30. junija 2027",
        "секој втор четврток до 30 јуни 2027",
        "joka toinen torstai 30.6.2027 asti",
    ),
    # Feminine weekdays: "every" agrees in Slovenian (accusative) and Macedonian.
    "FREQ=WEEKLY;BYDAY=WE": (
        "every Wednesday",
        "vsako sredo",
        "секоја среда",
        "joka keskiviikko",
    ),
    "FREQ=WEEKLY;INTERVAL=2;BYDAY=SA": (
        "every other Saturday",
        "vsako drugo soboto",
        "секоја втора сабота",
        "joka toinen lauantai",
    ),
    # Without BYDAY a weekly rule repeats on its start's weekday.
    "FREQ=WEEKLY": ("every Thursday", "vsak četrtek", "секој четврток", "joka torstai"),
    "FREQ=WEEKLY;BYDAY=SA;COUNT=4": (
        "every Saturday, 4 times",
        "vsako soboto, skupaj 4-krat",
        "секоја сабота, вкупно 4 пати",
        "joka lauantai, yhteensä 4 kertaa",
    ),
    "FREQ=WEEKLY;BYDAY=TU;COUNT=1": (
        "every Tuesday, 1 time",
        "vsak torek, skupaj 1-krat",
        "секој вторник, вкупно 1 пат",
        "joka tiistai, yhteensä 1 kerta",
    ),
    "FREQ=WEEKLY;BYDAY=WE,MO": (
        "every week on Mondays and Wednesdays",
        "vsak teden ob ponedeljkih in sredah",
        "секоја седмица во понеделник и среда",
        "joka viikko maanantaisin ja keskiviikkoisin",
    ),
    "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH,SA": (
        "every other week on Tuesdays, Thursdays, and Saturdays",
        "vsak drugi teden ob torkih, četrtkih in sobotah",
        "секоја втора седмица во вторник, четврток и сабота",
        "joka toinen viikko tiistaisin, torstaisin ja lauantaisin",
    ),
    # Plural forms: Slovenian has four (3 and 4 share one), Macedonian and Finnish two.
    "FREQ=WEEKLY;INTERVAL=3;BYDAY=TH": (
        "every 3 weeks on Thursdays",
        "na 3 tedne ob četrtkih",
        "на секои 3 седмици во четврток",
        "3 viikon välein torstaisin",
    ),
    "FREQ=WEEKLY;INTERVAL=5;BYDAY=FR": (
        "every 5 weeks on Fridays",
        "na 5 tednov ob petkih",
        "на секои 5 седмици во петок",
        "5 viikon välein perjantaisin",
    ),
    "FREQ=WEEKLY;INTERVAL=21;BYDAY=FR": (
        "every 21 weeks on Fridays",
        "na 21 tednov ob petkih",
        "на секоја 21 седмица во петок",
        "21 viikon välein perjantaisin",
    ),
    "FREQ=MONTHLY;BYDAY=-1FR": (
        "the last Friday of every month",
        "vsak zadnji petek v mesecu",
        "секој последен петок во месецот",
        "joka kuukauden viimeinen perjantai",
    ),
    "FREQ=MONTHLY;BYDAY=3WE;UNTIL=20270616T220000Z": (
        "the third Wednesday of every month until 16 June 2027",
        "vsako tretjo sredo v mesecu do 16. junija 2027",
        "секоја трета среда во месецот до 16 јуни 2027",
        "joka kuukauden kolmas keskiviikko 16.6.2027 asti",
    ),
    "FREQ=MONTHLY;BYDAY=-2SU": (
        "the second to last Sunday of every month",
        "vsako predzadnjo nedeljo v mesecu",
        "секоја претпоследна недела во месецот",
        "joka kuukauden toiseksi viimeinen sunnuntai",
    ),
    "FREQ=MONTHLY;BYDAY=1TU,3TU": (
        "the first Tuesday and the third Tuesday of every month",
        "vsak prvi torek in vsak tretji torek v mesecu",
        "секој прв вторник и секој трет вторник во месецот",
        "joka kuukauden ensimmäinen tiistai ja kolmas tiistai",
    ),
    "FREQ=MONTHLY;INTERVAL=2;BYDAY=1MO": (
        "the first Monday of every other month",
        "vsak prvi ponedeljek v vsakem drugem mesecu",
        "секој прв понеделник во секој втор месец",
        "joka toisen kuukauden ensimmäinen maanantai",
    ),
    "FREQ=MONTHLY;INTERVAL=3;BYDAY=2SA": (
        "the second Saturday of every 3 months",
        "vsako drugo soboto na 3 mesece",
        "секоја втора сабота на секои 3 месеци",
        "3 kuukauden välein toinen lauantai",
    ),
    # Positions beyond the named ones are counted.
    "FREQ=MONTHLY;BYDAY=-3TH": (
        "Thursday number 3 counted from the end of every month",
        "četrtek št. 3 od konca v mesecu",
        "четврток бр. 3 од крајот во месецот",
        "joka kuukauden lopusta laskien 3. torstai",
    ),
    "FREQ=MONTHLY;BYMONTHDAY=15": (
        "day 15 of every month",
        "15. dan v mesecu",
        "денот 15 во месецот",
        "joka kuukauden 15. päivä",
    ),
    "FREQ=MONTHLY;BYMONTHDAY=1,-1": (
        "day 1 and the last day of every month",
        "1. dan in zadnji dan v mesecu",
        "денот 1 и последниот ден во месецот",
        "joka kuukauden 1. päivä ja viimeinen päivä",
    ),
    "FREQ=MONTHLY;BYMONTHDAY=-2": (
        "day 2 counted from the end of every month",
        "2. dan od konca v mesecu",
        "денот 2 од крајот во месецот",
        "joka kuukauden 2. päivä lopusta laskien",
    ),
    # Without BYDAY or BYMONTHDAY a monthly rule repeats on its start's day of the month.
    "FREQ=MONTHLY": (
        "day 3 of every month",
        "3. dan v mesecu",
        "денот 3 во месецот",
        "joka kuukauden 3. päivä",
    ),
    "FREQ=MONTHLY;BYDAY=FR;BYMONTHDAY=13": (
        "day 13 of every month, when that is a Friday",
        "13. dan v mesecu, če je to petek",
        "денот 13 во месецот, ако е петок",
        "joka kuukauden 13. päivä, jos se on perjantai",
    ),
    "FREQ=MONTHLY;BYDAY=SA,SU;BYSETPOS=-1": (
        "every month: day 1 from the end of those that are a Saturday or Sunday",
        "vsak mesec: dan št. 1 od konca izmed tistih, ki so sobota ali nedelja",
        "секој месец: ден бр. 1 од крајот од оние што се сабота или недела",
        "joka kuukausi: päivä nro 1 lopusta laskien niistä, jotka ovat lauantai tai sunnuntai",
    ),
    # One weekday with BYSETPOS is that weekday's position in the month.
    "FREQ=MONTHLY;BYDAY=TH;BYSETPOS=2": (
        "the second Thursday of every month",
        "vsak drugi četrtek v mesecu",
        "секој втор четврток во месецот",
        "joka kuukauden toinen torstai",
    ),
    "FREQ=MONTHLY;INTERVAL=2;BYDAY=SU": (
        "every Sunday, every other month",
        "vsako nedeljo, vsak drugi mesec",
        "секоја недела, секој втор месец",
        "joka sunnuntai, joka toinen kuukausi",
    ),
    "FREQ=DAILY": ("every day", "vsak dan", "секој ден", "joka päivä"),
    "FREQ=DAILY;INTERVAL=2": (
        "every other day",
        "vsak drugi dan",
        "секој втор ден",
        "joka toinen päivä",
    ),
    "FREQ=DAILY;INTERVAL=3;COUNT=2": (
        "every 3 days, 2 times",
        "na 3 dni, skupaj 2-krat",
        "на секои 3 дена, вкупно 2 пати",
        "3 päivän välein, yhteensä 2 kertaa",
    ),
    "FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR": (
        "every week on Mondays, Tuesdays, Wednesdays, Thursdays, and Fridays",
        "vsak teden ob ponedeljkih, torkih, sredah, četrtkih in petkih",
        "секоја седмица во понеделник, вторник, среда, четврток и петок",
        "joka viikko maanantaisin, tiistaisin, keskiviikkoisin, torstaisin ja perjantaisin",
    ),
    "FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=24": (
        "every year on 24 December",
        "vsako leto 24. decembra",
        "секоја година на 24 декември",
        "joka vuosi 24.12.",
    ),
    "FREQ=YEARLY;INTERVAL=2": (
        "every year on 3 September, every other year",
        "vsako leto 3. septembra, vsako drugo leto",
        "секоја година на 3 септември, секоја втора година",
        "joka vuosi 3.9., joka toinen vuosi",
    ),
    "FREQ=YEARLY;BYMONTH=11;BYDAY=3TH": (
        "the third Thursday of every month in November",
        "vsak tretji četrtek v mesecu v novembru",
        "секој трет четврток во месецот во ноември",
        "joka kuukauden kolmas torstai marraskuussa",
    ),
    "FREQ=WEEKLY;BYDAY=TU;BYMONTH=6,7": (
        "every Tuesday in June and July",
        "vsak torek v juniju in juliju",
        "секој вторник во јуни и јули",
        "joka tiistai kesäkuussa ja heinäkuussa",
    ),
}
LANGUAGES = ("en", "sl", "mk", "fi")


@pytest.mark.parametrize("rule", list(RULES))
@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_rule_in_words(rule: str, lang: str) -> None:
    expected = RULES[rule][LANGUAGES.index(lang)]
    with i18n.speaking(lang):
        assert describe_rule(rule, start=START, tz=LJUBLJANA) == expected


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        (
            "en",
            "every other Tuesday from 5 January 2027 until 29 June 2027,"
            " except 2 March 2027; cancelled on 2 February 2027",
        ),
        (
            "sl",
            "vsak drugi torek od 5. januarja 2027 do 29. junija 2027,"
            " razen 2. marca 2027; odpade 2. februarja 2027",
        ),
        (
            "mk",
            "секој втор вторник од 5 јануари 2027 до 29 јуни 2027,"
            " освен на 2 март 2027; откажано на 2 февруари 2027",
        ),
        (
            "fi",
            "joka toinen tiistai 5.1.2027 alkaen 29.6.2027 asti, paitsi 2.3.2027; peruttu 2.2.2027",
        ),
    ],
)
def test_a_route_with_its_exceptions_and_cancelled_runs(lang: str, expected: str) -> None:
    """A bookmobile route: its rule without an end, its last day (valid_until), an excluded
    date, one from before today (no longer said) and a cancelled run."""
    with i18n.speaking(lang):
        words = describe_schedule(
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU",
            start=dt.datetime.fromisoformat("2027-01-05T09:00"),
            tz=LJUBLJANA,
            exdates=["2027-03-02T09:00:00", "2026-10-27"],
            cancelled=[dt.date(2027, 2, 2), dt.date(2026, 11, 3)],
            since=dt.date(2026, 12, 1),
            until=dt.date(2027, 6, 29),
        )
    assert words == expected


def test_an_end_earlier_in_the_day_than_the_series_ends_the_day_before() -> None:
    """UNTIL at local midnight (21:00 UTC in Helsinki's summer) lets no 17:00 start that
    day: the last day is the one before."""
    helsinki = zone("Europe/Helsinki")
    with i18n.speaking("fi"):
        words = describe_rule(
            "FREQ=MONTHLY;BYDAY=3TH;UNTIL=20270520T210000Z",
            start=dt.datetime.fromisoformat("2026-09-17T17:00"),
            tz=helsinki,
        )
    assert words == "joka kuukauden kolmas torstai 20.5.2027 asti"


def test_an_all_day_rule_ends_on_its_date() -> None:
    with i18n.speaking("sl"):
        words = describe_rule(
            "FREQ=WEEKLY;BYDAY=MO;UNTIL=20270628",
            start=dt.datetime.fromisoformat("2026-09-07T00:00"),
            tz=LJUBLJANA,
            all_day=True,
        )
    assert words == "vsak ponedeljek do 28. junija 2027"


def test_a_single_date_and_a_series_that_starts_later() -> None:
    with i18n.speaking("mk"):
        assert describe_rule(None, start=START, tz=LJUBLJANA) == "3 септември 2026"
        assert date_words(dt.date(2027, 1, 1)) == "1 јануари 2027"
        later = describe_rule(
            "FREQ=WEEKLY;BYDAY=TH", start=START, tz=LJUBLJANA, since=dt.date(2026, 8, 1)
        )
    assert later == "секој четврток од 3 септември 2026"


def test_a_rule_that_cannot_be_stored_is_refused() -> None:
    with pytest.raises(RuleError, match="FREQ=HOURLY is not allowed"):
        describe_rule("FREQ=HOURLY", start=START, tz=LJUBLJANA)
