"""The outbox: a notice is written in the transaction of the change that causes it.

Call :func:`enqueue` with the connection of that transaction. The notice is written out
(subject, text, HTML, attachments) at once, in the recipient's language, and stored; if the
change rolls back, so does the notice, and if it commits, the delivery worker
(:mod:`outreach.mail.delivery`) sends it, at least once and with the same Message-ID on
every attempt. A second enqueue with the same ``dedupe_key`` writes nothing: a key names
one notice to one person about one change (``confirmation:registration:12``), so nobody is
told twice about the same thing however often the code that causes it runs.

Templates: ``templates/mail/<template>.txt`` (sets ``subject``) and ``.html`` beside it
(:mod:`outreach.mail.render`).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.queryset import QuerySet

from outreach.mail.render import write
from outreach.models import Notice, NoticeStatus
from outreach.sql import dialect, positional

MAX_KEY = 200


@dataclass(frozen=True)
class Attachment:
    """A file sent with a notice (the occurrence as ``.ics``)."""

    filename: str
    content_type: str
    text: str

    def as_json(self) -> dict[str, str]:
        return {"filename": self.filename, "content_type": self.content_type, "text": self.text}


_INSERT = f"""
INSERT INTO {Notice._meta.db_table} (dedupe_key, library_id, registration_id, template,
    language, recipient, subject, text, html, attachments, message_id, status, attempts,
    due_at, last_error, created_at)
VALUES (:dedupe_key, :library_id, :registration_id, :template, :language, :recipient,
    :subject, :text, :html, :attachments, :message_id, :status, 0, :due_at, '', :created_at)
ON CONFLICT (dedupe_key) DO NOTHING
RETURNING id
"""


async def erase_copies(notices: QuerySet[Notice]) -> None:
    """Empty what ``notices`` hold of a person (the address, subject, text, HTML and
    attachments); one not yet sent is dropped, having nobody left to go to."""
    await notices.filter(status=NoticeStatus.PENDING).update(status=NoticeStatus.DROPPED)
    await notices.update(recipient=None, subject=None, text=None, html=None, attachments=None)


async def enqueue(
    connection: BaseDBAsyncClient,
    to: str,
    template: str,
    language: str,
    context: dict[str, Any],
    dedupe_key: str,
    *,
    library_id: int | None = None,
    registration_id: int | None = None,
    attachments: Sequence[Attachment] = (),
    due_at: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> bool:
    """Owe ``to`` the notice ``template``; False if ``dedupe_key`` was already enqueued.

    ``connection`` is the caller's transaction. ``due_at`` delays delivery (a reminder).
    """
    if not 1 <= len(dedupe_key) <= MAX_KEY:
        raise ValueError(f"a dedupe key has 1 to {MAX_KEY} characters")
    written = write(template, language, context)
    now = now or dt.datetime.now(dt.UTC)
    params = {
        "dedupe_key": dedupe_key,
        "library_id": library_id,
        "registration_id": registration_id,
        "template": template,
        "language": language,
        "recipient": to,
        "subject": written.subject,
        "text": written.text,
        "html": written.html,
        "attachments": json.dumps([a.as_json() for a in attachments], separators=(",", ":")),
        "message_id": uuid.uuid4().hex,
        "status": NoticeStatus.PENDING.value,
        "due_at": due_at or now,
        "created_at": now,
    }
    name = dialect(connection)
    sql, values = positional(_INSERT, params, name)
    # Fetched, not executed: Tortoise's asyncpg client answers an executed INSERT with
    # the count in its status line, which is not the rows RETURNING gives.
    rows = await connection.execute_query_dict(sql, values)
    return bool(rows)
