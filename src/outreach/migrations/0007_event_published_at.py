"""Events remember since when they are publicly listed: ``event.published_at``.

A cancelled event used to be public whatever it had been before, so a draft cancelled
without ever being published appeared in every feed and page. ``published_at`` is set
when an event becomes published, cleared when it goes back to draft and kept when it is
cancelled; a cancelled event is public only if it has one (``outreach.publicity``).

The backfill gives every published event its ``updated_at``. A cancelled event gets a
value only if the audit log shows it published before it was cancelled: its ``create``,
``update`` and ``cancel`` entries (``changes.event.status``, ``changes.status`` as
``[before, after]``) are replayed through the rule above. An event whose publication left
no event entry (routes and the fixtures loader write none) but whose later entries say it
was published counts as published since its ``created_at``. Everything else stays NULL.

The SQL is written out here, not imported, so that this migration keeps doing what it did
when the application changes.
"""

import json
from typing import Any

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

# Audit entries are read for this many events per statement.
_BATCH = 500


def _transitions(action: str, changes: Any) -> tuple[str | None, str] | None:
    """(status before, status after) that an audit entry records, if it records one."""
    if isinstance(changes, str):
        changes = json.loads(changes)
    if not isinstance(changes, dict):
        return None
    if action == "create":
        event = changes.get("event")
        status = event.get("status") if isinstance(event, dict) else None
        return (None, status) if isinstance(status, str) else None
    status = changes.get("status")
    if action in ("update", "cancel") and isinstance(status, list) and len(status) == 2:
        return status[0], status[1]
    return None


def _published_at(created_at: Any, entries: list[dict[str, Any]]) -> Any:
    """When the event was last made public, replaying its entries; None if it is not."""
    since = None
    for entry in entries:
        change = _transitions(entry["action"], entry["changes"])
        if change is None:
            continue
        before, after = change
        if before == "published" and since is None:
            since = created_at
        if after == "published":
            since = since or entry["at"]
        elif after == "draft":
            since = None
    return since


async def forward(apps: Any, schema_editor: Any) -> None:
    client = schema_editor.client
    placeholder = "$1" if str(client.capabilities.dialect) == "postgres" else "?"
    await client.execute_script(
        "UPDATE event SET published_at = updated_at WHERE status = 'published'"
    )
    cancelled = await client.execute_query_dict(
        "SELECT id, created_at FROM event WHERE status = 'cancelled' ORDER BY id"
    )
    for first in range(0, len(cancelled), _BATCH):
        batch = {str(row["id"]): row["created_at"] for row in cancelled[first : first + _BATCH]}
        # Ids are integers read above, so they can be spelled into the statement.
        ids = ", ".join(f"'{ident}'" for ident in batch)
        entries = await client.execute_query_dict(
            "SELECT entity_id, action, at, changes FROM audit_entry"
            f" WHERE entity = 'event' AND entity_id IN ({ids}) ORDER BY at, id"
        )
        by_event: dict[str, list[dict[str, Any]]] = {ident: [] for ident in batch}
        for entry in entries:
            by_event[entry["entity_id"]].append(entry)
        for ident, created_at in batch.items():
            since = _published_at(created_at, by_event[ident])
            if since is not None:
                await client.execute_query(
                    f"UPDATE event SET published_at = {placeholder} WHERE id = {int(ident)}",
                    [since],
                )


class AddColumn(ops.AddField):
    """AddField whose way back drops only the column: Tortoise's own way back rebuilds
    ``event`` on SQLite, which would lose the columns migration 0005 keeps beside it."""

    async def database_backward(
        self, app_label: str, old_state: Any, new_state: Any, state_editor: Any = None
    ) -> None:
        if state_editor is not None:
            await state_editor.client.execute_script("ALTER TABLE event DROP COLUMN published_at")


class Migration(migrations.Migration):
    dependencies = [("models", "0006_occurrence_library_sessions")]

    initial = False

    operations = [
        AddColumn(model_name="Event", name="published_at", field=fields.DatetimeField(null=True)),
        ops.RunPython(forward, ops.RunPython.noop),
    ]
