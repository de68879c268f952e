"""Free-text search over events' titles and descriptions, in every language they have.

A query is cut into words (letters and digits; quotes, operators and other punctuation
only separate words, so nothing a patron types reaches the search engine as syntax), and
an event matches when each word begins one of the words of its titles or descriptions.
Searching by prefix is what makes part of a word enough: "delavn" finds "delavnica",
"работилн" finds "работилница", "työpaj" finds "työpajat".

How each database reads Slovenian, Macedonian and Finnish words (migration
``0013_event_search``):

- SQLite (FTS5, ``unicode61`` tokenizer with ``remove_diacritics 2``): words are split at
  Unicode word boundaries and lower-cased in every script; Latin diacritics are removed
  on both sides, so "citanje" finds "Čitanje" and "tyopaja" finds "työpaja". Cyrillic
  letters keep their marks (Ѓ and Ќ are letters of Macedonian, not accented Г and К).
  No stemming in any language: inflected forms match through their common prefix
  ("sodelovanj" finds "Sodelovanje" and "sodelovanja").
- PostgreSQL: the ``simple`` configuration over all languages, folded the same way
  (lower case, Latin diacritics removed by ``outreach_fold``), matched by prefix; PostgreSQL
  has no Slovenian or Macedonian configuration, so for those prefix matching is all. The
  Finnish texts are indexed with the ``finnish`` snowball configuration as well, and each
  word of the query is also stemmed by it, so an inflected Finnish form finds the others
  ("työpajoissa" finds "työpajat").
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from outreach.feeds import sql

# A word is a run of letters and digits; the underscore is punctuation here.
_WORD = re.compile(r"[^\W_]+")
# Longer queries add nothing a patron needs and only make the query longer to plan.
MAX_WORDS = 8


def words(text: str) -> list[str]:
    """The words of a query, lower-cased, in order, without repeats, at most MAX_WORDS."""
    return list(dict.fromkeys(w.lower() for w in _WORD.findall(text)))[:MAX_WORDS]


async def matching_events(library_ids: Sequence[int], query_words: Sequence[str]) -> list[int]:
    """The ids of the libraries' events whose titles or descriptions hold every word (as
    the beginning of one of theirs), in id order; publicity is the caller's business."""
    if not query_words:
        return []
    db = sql.Sql()
    libraries, params = db.among("e.library_id", library_ids)
    if db.postgres:
        per_word = " && ".join(
            "(to_tsquery('simple', outreach_fold(?) || ':*') || to_tsquery('finnish', ?))"
            for _ in query_words
        )
        match = f"outreach_search_document(e.title, e.description) @@ ({per_word})"
        match_params: list[object] = [value for word in query_words for value in (word, word)]
    else:
        # Each word quoted (it holds no quote) and starred: a prefix query, never syntax.
        match = "e.id IN (SELECT rowid FROM event_search WHERE event_search MATCH ?)"
        match_params = [" AND ".join(f'"{word}"*' for word in query_words)]
    rows = await db.rows(
        f"SELECT e.id FROM event e WHERE {libraries} AND {match} ORDER BY e.id",
        [*params, *match_params],
    )
    return [int(row["id"]) for row in rows]
