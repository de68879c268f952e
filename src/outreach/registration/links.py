"""Signed self-service links: whoever holds one may see, change, cancel or erase one
registration, with no account.

A link carries the row's id, its random secret and the instant it expires,
signed with the service's ``SECRET_KEY`` (itsdangerous, HMAC-SHA1 under a salt of its own:
room requests sign theirs under another salt, so neither kind of link opens the other).
A link whose signature does not match is forged; one past its expiry has expired; one
whose secret no longer matches was for a registration since erased (erasure clears the
secret), so it opens nothing.
"""

from __future__ import annotations

import datetime as dt
import hmac
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeSerializer

from outreach import errors

SALT = "outreach.registration.link"


class LinkInvalid(errors.DomainError):
    """The link was not issued by this service (or was altered), or no longer opens
    anything."""

    def __init__(self) -> None:
        super().__init__("this link is not valid", fields={"token": "is not a valid link"})


class LinkExpired(errors.DomainError):
    """The link's time is over (the registration's data has been erased by now)."""

    def __init__(self) -> None:
        super().__init__("this link has expired", fields={"token": "has expired"})


@dataclass(frozen=True)
class Link:
    registration: int
    secret: str
    expires: dt.datetime


def _serializer(secret_key: str, salt: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret_key, salt=salt)


def sign(
    secret_key: str, registration: int, secret: str, expires: dt.datetime, *, salt: str = SALT
) -> str:
    return str(
        _serializer(secret_key, salt).dumps([registration, secret, int(expires.timestamp())])
    )


def read(secret_key: str, token: str, *, now: dt.datetime | None = None, salt: str = SALT) -> Link:
    """The link ``token`` stands for: :class:`LinkInvalid` or :class:`LinkExpired`."""
    if len(token) > 300:
        raise LinkInvalid
    try:
        value = _serializer(secret_key, salt).loads(token)
    except BadSignature:
        raise LinkInvalid from None
    if (
        not isinstance(value, list)
        or len(value) != 3
        or not isinstance(value[0], int)
        or not isinstance(value[1], str)
        or not isinstance(value[2], int)
    ):
        raise LinkInvalid
    expires = dt.datetime.fromtimestamp(value[2], dt.UTC)
    if expires <= (now or dt.datetime.now(dt.UTC)):
        raise LinkExpired
    return Link(value[0], value[1], expires)


def matches(link: Link, secret: str | None) -> bool:
    return secret is not None and hmac.compare_digest(link.secret, secret)
