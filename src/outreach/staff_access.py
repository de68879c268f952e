"""Who works in a library and the API tokens they hold, for its administrators."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from tortoise.transactions import in_transaction

from outreach.models import ApiToken, AuditEntry, Role, RoleName, StaffUser


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
