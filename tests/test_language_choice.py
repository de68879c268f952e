"""Which of a text's languages is shown: the asked one, else the fallback, else the same
one on both databases."""

from __future__ import annotations

from outreach.languages import language_of, translated
from outreach.models import Network


def test_the_asked_language_then_the_fallback_then_the_first_alphabetically() -> None:
    name = {"sl": "Knjižnica", "en": "Library", "de": "Bibliothek"}
    assert translated(name, "sl") == "Knjižnica"
    assert translated(name, "fi") == "Library"
    assert translated(name, "fi", fallback="mk") == "Bibliothek"
    assert language_of(name, "fi", fallback="mk") == "de"
    # An empty text is no text: the next language with one.
    assert translated({"de": "", "sl": "Knjižnica"}, "fi") == "Knjižnica"
    assert translated({"de": ""}, "fi") == ""
    assert translated({}, "fi") == ""
    assert language_of({}, "fi") == "fi"


async def test_a_stored_name_without_the_asked_languages_reads_alike_on_both_databases(
    db: str,
) -> None:
    """SQLite keeps a JSON object's keys as written; PostgreSQL's jsonb sorts them (by
    length, then bytes), so "the first stored language" differed between the two."""
    await Network.create(
        slug="alpe", name={"sl": "Alpska mreža", "de": "Alpennetz"}, default_language="sl"
    )
    stored = await Network.get(slug="alpe")
    assert translated(stored.name, "fi") == "Alpennetz"
    assert language_of(stored.name, "fi") == "de"
