"""Writes sent with an ``Idempotency-Key`` keep their first answer for 24 hours; stored
time zones get their canonical names.

``idempotent_answer`` holds one row per key and sender (as a SHA-256 digest, beside a
digest of the request and the response the client was sent), written in the transaction
of the write itself; a retry of the write gets the same answer and stores nothing again
(``outreach.web.idempotency``). Rows older than 24 hours are deleted as they are met.

From this release only canonical IANA zone names are accepted (the zone of a country in
tzdata's ``zone1970.tab`` or ``zone.tab``, or UTC; ``outreach.scheduling.recurrence.zone``),
and every stored zone is read through that check. So a library or event stored with a
legacy name (``US/Eastern``, ``Asia/Calcutta``) gets the canonical zone that tzdata links
it to (the same compiled data), and the data version moves on so feeds are rebuilt. A name
that is no link of a canonical zone (``Factory``) is left for an operator to change.

The zone rules are written out here, not imported, so that this migration keeps doing
what it did when the application changes.
"""

import functools
import importlib.resources
import zoneinfo
from json import dumps, loads
from pathlib import Path
from typing import Any

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

_TABLES = ("zone1970.tab", "zone.tab")


def _tzdata_file(*parts: str) -> bytes | None:
    for directory in zoneinfo.TZPATH:
        path = Path(directory, *parts)
        if path.is_file():
            return path.read_bytes()
    try:
        resource = importlib.resources.files("tzdata").joinpath("zoneinfo", *parts)
        return resource.read_bytes() if resource.is_file() else None
    except ModuleNotFoundError:
        return None


def _canonical() -> set[str]:
    names: set[str] = set()
    for table in _TABLES:
        texts = [Path(d, table).read_bytes() for d in zoneinfo.TZPATH if Path(d, table).is_file()]
        data = _tzdata_file(table)
        texts += [data] if data is not None else []
        for text in texts:
            for line in text.decode("utf-8").splitlines():
                columns = line.split("\t")
                if not line.startswith("#") and len(columns) >= 3:
                    names.add(columns[2])
    return names


async def canonical_zones(apps: Any, schema_editor: Any) -> None:
    client = schema_editor.client
    canonical = _canonical()
    if not canonical:
        return  # no zone tables on this machine: nothing can be decided
    canonical |= {"UTC", "Etc/UTC"}
    known = zoneinfo.available_timezones()
    by_data: dict[bytes, str] = {}
    for name in sorted(canonical & known):
        data = _tzdata_file(*name.split("/"))
        if data is not None:
            by_data.setdefault(data, name)
    postgres = str(client.capabilities.dialect) == "postgres"
    changed = False
    for table in ("library", "event"):
        for row in await client.execute_query_dict(f"SELECT DISTINCT timezone FROM {table}"):
            name = row["timezone"]
            if name in canonical or name not in known:
                continue
            target = by_data.get(_tzdata_file(*name.split("/")) or b"")
            if target is None:
                continue
            sql = f"UPDATE {table} SET timezone = {'$1' if postgres else '?'}"
            sql += f" WHERE timezone = {'$2' if postgres else '?'}"
            await client.execute_query(sql, [target, name])
            changed = True
    if changed:
        await client.execute_script(
            "UPDATE data_version SET version = version + 1, changed_at = CURRENT_TIMESTAMP"
        )


class Migration(migrations.Migration):
    dependencies = [('models', '0007_event_published_at')]

    initial = False

    operations = [
        ops.CreateModel(
            name='IdempotentAnswer',
            fields=[
                ('key', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                ('request', fields.CharField(max_length=64)),
                ('status', fields.SmallIntField()),
                ('headers', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('body', fields.BinaryField()),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'idempotent_answer', 'app': 'models', 'pk_attr': 'key', 'table_description': 'The first answer to a write sent with an ``Idempotency-Key``, kept for 24 hours.'},
            bases=['Model'],
        ),
        ops.RunPython(canonical_zones, ops.RunPython.noop),
    ]
