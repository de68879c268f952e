"""Password hashing (Argon2) and API tokens (random, stored as SHA-256)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
TOKEN_PREFIX = "otk_"
# How much of a token is kept in clear, to tell tokens apart (``tokens revoke PREFIX``).
KEPT_PREFIX_LENGTH = len(TOKEN_PREFIX) + 6


def hash_password(password: str) -> str:
    return _hasher.hash(password)


# For passwords that are published (the demo's, in fixtures/staff.toml; the tests'), where
# a slow hash protects nothing: ``verify_password`` reads the parameters from the hash, so
# these verify in well under a millisecond, where a real account's hash takes ~150 ms.
_published = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def hash_published_password(password: str) -> str:
    return _published.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@cache
def dummy_password_hash() -> str:
    """Verifying against this keeps the time of a login for an unknown e-mail like a real
    one. Made once per process, when the app is made (``create_app``), not on import:
    every ``outreach`` command and test process would otherwise spend ~150 ms on it."""
    return hash_password("not-a-real-password")


@dataclass(frozen=True)
class NewToken:
    """A freshly minted token: ``secret`` is shown once and never stored."""

    secret: str
    prefix: str
    digest: str


def hash_token(secret: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough: nothing to brute-force.
    return hashlib.sha256(secret.encode()).hexdigest()


def new_token() -> NewToken:
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return NewToken(secret=secret, prefix=secret[:KEPT_PREFIX_LENGTH], digest=hash_token(secret))
