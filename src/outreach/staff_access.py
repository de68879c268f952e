"""Who works in a library and the API tokens they hold, for its administrators."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from tortoise.transactions import in_transaction

from outreach.i18n import gettext as _
from outreach.models import ApiToken, AuditEntry, Role, RoleName, StaffUser
from outreach.schemas import text_problem
from outreach.security import new_token

TOKEN_NAME_LIMIT = 100


class TokenNameError(ValueError):
    """A token's name that cannot be kept: the reason, in the reader's language."""


@dataclass
class IssuedToken:
    """A token just made: the row and its secret, which is shown once and never stored."""

    token: ApiToken
    secret: str


@dataclass
class Member:
    """A user with a role in one of the administrator's libraries, and their tokens."""

    user: StaffUser
    roles: list[Role] = field(default_factory=list)
    tokens: list[ApiToken] = field(default_factory=list)


async def administered(admin: StaffUser) -> list[int]:
    """The libraries where ``admin`` is an administrator."""
    return [
        r.library_id  # type: ignore[attr-defined]
        for r in await Role.filter(user_id=admin.id, role=RoleName.ADMIN, library_id__isnull=False)
    ]


async def members(library_ids: list[int]) -> list[Member]:
    """The staff of these libraries by name, with their roles there and their tokens."""
    roles = (
        await Role.filter(library_id__in=library_ids or [0])
        .prefetch_related("user", "library")
        .order_by("user__name", "id")
    )
    found: dict[int, Member] = {}
    for role in roles:
        found.setdefault(role.user.id, Member(role.user)).roles.append(role)
    tokens = await ApiToken.filter(user_id__in=list(found) or [0]).order_by("-created_at", "-id")
    for token in tokens:
        found[token.user_id].tokens.append(token)  # type: ignore[attr-defined]
    return list(found.values())


async def revoke_token(admin: StaffUser, token_id: int, library_ids: list[int]) -> ApiToken | None:
    """Revoke a token of someone on the staff of these libraries (audited); None if there
    is no such token there. Revoking a revoked token changes nothing."""
    async with in_transaction("default") as conn:
        token = (
            await ApiToken.filter(id=token_id, user__roles__library_id__in=library_ids or [0])
            .using_db(conn)
            .first()
        )
        if token is None:
            return None
        if token.revoked_at is None:
            token.revoked_at = dt.datetime.now(dt.UTC)
            await token.save(using_db=conn, update_fields=["revoked_at"])
            await AuditEntry.record(
                conn,
                user=admin,
                library_id=library_ids[0] if len(library_ids) == 1 else None,
                action="revoke_token",
                entity="api_token",
                entity_id=token.id,
                changes={"user": token.user_id, "prefix": token.prefix},  # type: ignore[attr-defined]
            )
    return token


async def issue_token(
    admin: StaffUser, user_id: int, name: str, library_ids: list[int]
) -> IssuedToken | None:
    """A new API token for someone on the staff of these libraries (audited), named so its
    holder knows which script uses it; None if there is no such person there. A name that
    is empty, too long or holds control characters raises :class:`TokenNameError`."""
    name = name.strip()
    if not name:
        raise TokenNameError(_("Name the token, e.g. after the script that will use it."))
    found = text_problem(name, limit=TOKEN_NAME_LIMIT)
    if found is not None:
        raise TokenNameError(found)
    async with in_transaction("default") as conn:
        user = (
            await StaffUser.filter(id=user_id, roles__library_id__in=library_ids or [0])
            .using_db(conn)
            .first()
        )
        if user is None:
            return None
        made = new_token()
        token = await ApiToken.create(
            user=user, name=name, prefix=made.prefix, token_hash=made.digest, using_db=conn
        )
        await AuditEntry.record(
            conn,
            user=admin,
            library_id=library_ids[0] if len(library_ids) == 1 else None,
            action="create_token",
            entity="api_token",
            entity_id=token.id,
            changes={"user": user.id, "prefix": token.prefix, "name": name},
        )
    return IssuedToken(token, made.secret)
