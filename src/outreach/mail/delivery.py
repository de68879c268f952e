"""The outbox worker: delivers pending notices over SMTP (aiosmtplib), at least once, with
retries that back off exponentially, surviving restarts.

A worker claims a batch of due notices by setting their ``claimed_until`` (a lease) in one
statement, sends each, then marks it sent. On PostgreSQL the claim reads with ``FOR UPDATE
SKIP LOCKED``, so any number of processes claim side by side, each a different batch,
without waiting for one another; on SQLite the statement runs under the database's single
write lock, which gives the same. A worker that dies (a crash, a kill, a lost connection)
leaves its lease to run out, and then another worker sends the notice again, with the same
Message-ID: at least once, never lost. A notice is only ever enqueued once per person and
change (:mod:`outreach.mail.outbox`), so the one way a person can get a message twice is a
crash between the server's acceptance and our mark, and then the copies share their
Message-ID, which mail clients and servers treat as one message.

Why not procrastinate (a PostgreSQL job queue): a notice must be written in the Tortoise
transaction of the change that causes it, and procrastinate defers jobs through its own
psycopg connection, outside that transaction; it also needs PostgreSQL, while the
embedded default is SQLite. One table and one ``SKIP LOCKED`` statement do the job on
both.

Nothing personal is logged: a log line names the notice's id and the failure's kind and
SMTP code, never an address or the server's words (which may quote one).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Any

import aiosmtplib
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.connection import get_connection

from outreach.models import Notice
from outreach.settings import MailSettings
from outreach.sql import dialect, positional

log = logging.getLogger("outreach.mail")
TABLE = Notice._meta.db_table

_CLAIM = f"""
UPDATE {TABLE} SET claimed_until = :until, attempts = attempts + 1
WHERE id IN (
    SELECT id FROM {TABLE}
    WHERE status = 'pending' AND due_at <= :now AND recipient IS NOT NULL
      AND (claimed_until IS NULL OR claimed_until < :now)
    ORDER BY due_at, id
    LIMIT :limit{{lock}}
)
RETURNING id, recipient, subject, text, html, attachments, message_id, language, attempts,
    created_at
"""
_SENT = f"""
UPDATE {TABLE} SET status = 'sent', sent_at = :now, claimed_until = NULL, last_error = ''
WHERE id = :id AND status = 'pending'
"""
_RETRY = f"""
UPDATE {TABLE} SET claimed_until = NULL, due_at = :due, last_error = :error
WHERE id = :id AND status = 'pending'
"""
_FAILED = f"""
UPDATE {TABLE} SET status = 'failed', claimed_until = NULL, last_error = :error
WHERE id = :id AND status = 'pending'
"""
_RELEASE = f"UPDATE {TABLE} SET claimed_until = NULL WHERE id = :id AND status = 'pending'"


@dataclass(frozen=True, kw_only=True)
class Policy:
    """How hard the worker tries."""

    batch: int = 20
    # How long a claimed notice is the claimer's; longer than any one delivery takes.
    lease: dt.timedelta = dt.timedelta(minutes=5)
    # The wait after the first failure, doubled after each next one, up to ``longest``.
    backoff: dt.timedelta = dt.timedelta(seconds=30)
    longest: dt.timedelta = dt.timedelta(hours=6)
    max_attempts: int = 10
    # Seconds between looks at the outbox when it was empty.
    poll: float = 1.0
    timeout: float = 30.0


@dataclass(frozen=True)
class Claimed:
    id: int
    recipient: str
    subject: str
    text: str
    html: str
    attachments: list[dict[str, str]]
    message_id: str
    language: str
    attempts: int
    created_at: dt.datetime


def _instant(value: object) -> dt.datetime:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    assert isinstance(value, dt.datetime)
    return value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _claimed(row: dict[str, Any]) -> Claimed:
    attachments = row["attachments"]
    if isinstance(attachments, str | bytes):
        attachments = json.loads(attachments)
    return Claimed(
        id=int(row["id"]),
        recipient=str(row["recipient"]),
        subject=str(row["subject"]),
        text=str(row["text"]),
        html=str(row["html"]),
        attachments=list(attachments or []),
        message_id=str(row["message_id"]),
        language=str(row["language"]),
        attempts=int(row["attempts"]),
        created_at=_instant(row["created_at"]),
    )


def message_domain(sender: str) -> str:
    """The domain Message-IDs are made in: the sender's."""
    address = parseaddr(sender)[1]
    return address.rpartition("@")[2] or "localhost"


def build_message(notice: Claimed, sender: str) -> EmailMessage:
    """The email of ``notice``: text and HTML alternatives, then its attachments."""
    message = EmailMessage()
    name, address = parseaddr(sender)
    message["From"] = Address(name, addr_spec=address) if name else address
    message["To"] = notice.recipient
    message["Subject"] = notice.subject
    message["Date"] = format_datetime(notice.created_at)
    message["Message-ID"] = f"<{notice.message_id}@{message_domain(sender)}>"
    # RFC 3834: an automatic message, so vacation responders do not answer it.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(notice.text)
    message.add_alternative(notice.html, subtype="html")
    for attachment in notice.attachments:
        maintype, _, subtype = attachment["content_type"].partition("/")
        params = {"method": "PUBLISH"} if subtype == "calendar" else {}
        message.add_attachment(
            attachment["text"],
            subtype=subtype,
            filename=attachment["filename"],
            params=params,
        )
        assert maintype == "text"
    # After the body: setting content drops a message's Content-* headers.
    message["Content-Language"] = notice.language
    return message


def _failure(exc: BaseException) -> tuple[str, bool]:
    """A description fit for a log and the outbox page, and whether to try again."""
    code = getattr(exc, "code", None)
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [getattr(e, "code", 0) for e in exc.recipients]
        code = codes[0] if codes else None
    permanent = isinstance(code, int) and 500 <= code < 600
    kind = type(exc).__name__
    return (f"{kind} {code}" if code else kind), not permanent


class OutboxWorker:
    """Delivers the outbox; one per process (:meth:`run` until stopped)."""

    def __init__(self, mail: MailSettings, policy: Policy | None = None) -> None:
        if mail.smtp_host is None:
            raise ValueError("no SMTP host: notices stay in the local outbox")
        self.mail = mail
        self.policy = policy or Policy()

    async def claim(self, now: dt.datetime, connection: BaseDBAsyncClient) -> list[Claimed]:
        name = dialect(connection)
        lock = " FOR UPDATE SKIP LOCKED" if name == "postgres" else ""
        sql, values = positional(
            _CLAIM.format(lock=lock),
            {"until": now + self.policy.lease, "now": now, "limit": self.policy.batch},
            name,
        )
        rows = await connection.execute_query_dict(sql, values)
        return sorted((_claimed(row) for row in rows), key=lambda n: n.id)

    async def _run(self, sql: str, params: dict[str, Any], connection: BaseDBAsyncClient) -> None:
        text, values = positional(sql, params, dialect(connection))
        await connection.execute_query(text, values)

    async def send(self, notice: Claimed) -> None:
        mail = self.mail
        await aiosmtplib.send(
            build_message(notice, mail.sender),
            sender=parseaddr(mail.sender)[1],
            recipients=[notice.recipient],
            hostname=mail.smtp_host,
            port=mail.smtp_port,
            username=mail.smtp_username,
            password=mail.smtp_password,
            use_tls=mail.smtp_security == "tls",
            start_tls=mail.smtp_security == "starttls",
            timeout=self.policy.timeout,
        )

    def _backoff(self, attempts: int) -> dt.timedelta:
        wait: dt.timedelta = self.policy.backoff * (2 ** max(attempts - 1, 0))
        return min(wait, self.policy.longest)

    async def deliver(self, notice: Claimed, connection: BaseDBAsyncClient) -> bool:
        """Send one claimed notice and record the outcome; whether it was sent."""
        try:
            await self.send(notice)
        except asyncio.CancelledError:
            # Stopped mid-delivery: hand the notice back at once rather than after the
            # lease, so the next worker (this one restarted) sends it again.
            with contextlib.suppress(Exception):
                await asyncio.shield(self._run(_RELEASE, {"id": notice.id}, connection))
            raise
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            error, transient = _failure(exc)
            now = dt.datetime.now(dt.UTC)
            if transient and notice.attempts < self.policy.max_attempts:
                due = now + self._backoff(notice.attempts)
                await self._run(_RETRY, {"id": notice.id, "due": due, "error": error}, connection)
                log.warning("notice %s not delivered (%s); retry at %s", notice.id, error, due)
            else:
                await self._run(_FAILED, {"id": notice.id, "error": error}, connection)
                log.error("notice %s failed for good after %s attempt(s) (%s)", notice.id,
                          notice.attempts, error)  # fmt: skip
            return False
        await self._run(_SENT, {"id": notice.id, "now": dt.datetime.now(dt.UTC)}, connection)
        return True

    async def run_once(self, now: dt.datetime | None = None) -> int:
        """Claim and deliver one batch; how many notices were claimed."""
        connection = get_connection("default")
        claimed = await self.claim(now or dt.datetime.now(dt.UTC), connection)
        for notice in claimed:
            await self.deliver(notice, connection)
        return len(claimed)

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until ``stop`` is set; a database outage only pauses the work."""
        while not stop.is_set():
            try:
                handled = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("outbox worker paused: %s", type(exc).__name__)
                handled = 0
            if handled == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.policy.poll)
