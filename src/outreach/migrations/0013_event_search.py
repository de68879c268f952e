"""Free-text search over events' titles and descriptions in every language (issue 13).

- SQLite: ``event_search``, an FTS5 table (``unicode61`` tokenizer, ``remove_diacritics
  2``) whose rowid is the event's id and whose one column holds every language's title
  and description. Triggers on ``event`` keep it in step inside the very statement (and
  so the transaction) that inserts, changes or deletes an event; the migration fills it
  from the events already stored.
- PostgreSQL: ``outreach_search_document(title, description)``, an immutable function
  giving the events' tsvector, and a GIN index on it. Being an expression index, it is
  in step with every write by construction. The vector is the ``simple`` configuration
  (no stemming, no stop words) over all languages, folded by ``outreach_fold`` (lower
  case, Latin diacritics removed, as FTS5's ``remove_diacritics`` does), plus the
  ``finnish`` snowball configuration over the Finnish texts. PostgreSQL has no Slovenian
  or Macedonian configuration; those words are matched by prefix (see
  ``outreach.feeds.search``). ``translate`` stands in for the ``unaccent`` extension,
  which needs a superuser to install and is not immutable.

Only these objects are added; the way back drops just them.
"""

from typing import Any

from tortoise import migrations
from tortoise.migrations import operations as ops

# Latin letters with diacritics in Slovenian, Finnish, Croatian, Serbian Latin and their
# neighbours, and their bases. Cyrillic letters are left alone: Ѓ and Ќ are letters of
# Macedonian, not accented Г and К (FTS5's remove_diacritics leaves Cyrillic alone too).
_ACCENTED = "áàâäãåāăąčćçďđéèêëěēęíìîïīľĺłňńñóòôöõőøřŕšśťúùûüůűūýÿžźż"
_BASES = "aaaaaaaaacccddeeeeeeeiiiiilllnnnooooooorrsstuuuuuuuyyzzz"

_TEXTS = "coalesce((SELECT group_concat(value, ' ') FROM json_each({row}.{column})), '')"
_SQLITE_BODY = f"{_TEXTS.format(row='{row}', column='title')} || ' ' || " + _TEXTS.format(
    row="{row}", column="description"
)

_SQLITE = [
    "CREATE VIRTUAL TABLE event_search USING fts5(body,"
    " tokenize = 'unicode61 remove_diacritics 2')",
    "CREATE TRIGGER event_search_insert AFTER INSERT ON event BEGIN"
    " INSERT INTO event_search (rowid, body) VALUES"
    f" (NEW.id, {_SQLITE_BODY.format(row='NEW')}); END",
    "CREATE TRIGGER event_search_update AFTER UPDATE OF title, description ON event BEGIN"
    f" UPDATE event_search SET body = {_SQLITE_BODY.format(row='NEW')}"
    " WHERE rowid = NEW.id; END",
    "CREATE TRIGGER event_search_delete AFTER DELETE ON event BEGIN"
    " DELETE FROM event_search WHERE rowid = OLD.id; END",
    "INSERT INTO event_search (rowid, body)"
    f" SELECT id, {_SQLITE_BODY.format(row='event')} FROM event",
]

_POSTGRES = [
    "CREATE FUNCTION outreach_fold(text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE"
    f" AS $$ SELECT translate(lower($1), '{_ACCENTED}', '{_BASES}') $$",
    "CREATE FUNCTION outreach_search_document(title jsonb, description jsonb)"
    " RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$"
    " SELECT to_tsvector('simple'::regconfig, public.outreach_fold("
    "coalesce((SELECT string_agg(value, ' ') FROM jsonb_each_text(title)), '') || ' ' ||"
    " coalesce((SELECT string_agg(value, ' ') FROM jsonb_each_text(description)), '')))"
    " || to_tsvector('finnish'::regconfig,"
    " coalesce(title ->> 'fi', '') || ' ' || coalesce(description ->> 'fi', '')) $$",
    "CREATE INDEX event_search_document ON event"
    " USING GIN (outreach_search_document(title, description))",
]


async def forward(apps: Any, schema_editor: Any) -> None:
    client = schema_editor.client
    postgres = str(client.capabilities.dialect) == "postgres"
    for statement in _POSTGRES if postgres else _SQLITE:
        await client.execute_script(statement)


async def backward(apps: Any, schema_editor: Any) -> None:
    client = schema_editor.client
    if str(client.capabilities.dialect) == "postgres":
        drops = [
            "DROP INDEX event_search_document",
            "DROP FUNCTION outreach_search_document(jsonb, jsonb)",
            "DROP FUNCTION outreach_fold(text)",
        ]
    else:
        drops = [
            *(f"DROP TRIGGER event_search_{when}" for when in ("insert", "update", "delete")),
            "DROP TABLE event_search",
        ]
    for statement in drops:
        await client.execute_script(statement)


class Migration(migrations.Migration):
    dependencies = [("models", "0012_registration")]

    initial = False

    operations = [ops.RunPython(forward, backward)]
