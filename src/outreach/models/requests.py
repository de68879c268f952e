"""What the service keeps about requests themselves: the answers of idempotent writes."""

from __future__ import annotations

import datetime as dt

from tortoise import fields
from tortoise.models import Model


class IdempotentAnswer(Model):
    """The first answer to a write sent with an ``Idempotency-Key``, kept for 24 hours.

    Written in the transaction of the write itself, so a write is never stored without
    it. Nothing personal: the key and its sender are kept only as one SHA-256 digest, the
    request only as another, and the response is what the client was already sent.
    """

    # sha256(principal, the client's key): one key of one user.
    key = fields.CharField(max_length=64, primary_key=True)
    # sha256(method, path, query, body): a key may only ever be sent with one request.
    request = fields.CharField(max_length=64)
    status = fields.SmallIntField()
    # [[name, value], ...]: the response headers a replay repeats (content type, location).
    headers: list[list[str]] = fields.JSONField(default=list)
    body = fields.BinaryField()
    created_at: dt.datetime = fields.DatetimeField(db_index=True)

    class Meta:
        table = "idempotent_answer"
