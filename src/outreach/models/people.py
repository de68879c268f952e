"""Staff users, their roles, API tokens and the audit log. Patrons are never stored."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.migrations.constraints import CheckConstraint
from tortoise.models import Model

from outreach.models.organisations import Library, Network


class RoleName(StrEnum):
    EDITOR = "editor"
    DIRECTOR = "director"
    ADMIN = "admin"
    COORDINATOR = "coordinator"


class StaffUser(Model):
    """A member of library staff who signs in."""

    id = fields.IntField(primary_key=True)
    email = fields.CharField(max_length=254, unique=True)
    name = fields.CharField(max_length=200)
    password_hash = fields.CharField(max_length=200)
    is_active = fields.BooleanField(default=True)
    created_at: dt.datetime = fields.DatetimeField(auto_now_add=True)
    # Signed session cookies name the epoch they were issued in; signing out moves it on,
    # so every copy of every earlier cookie of this user stops working.
    session_epoch = fields.IntField(default=0, db_default=0)
    # The interface language the user chose (en, sl, mk, fi); NULL: as the browser asks.
    language = fields.CharField(max_length=8, null=True)

    roles: fields.ReverseRelation[Role]
    tokens: fields.ReverseRelation[ApiToken]

    class Meta:
        table = "staff_user"


class Role(Model):
    """The role of a user in one library (editor, director, admin) or network (coordinator)."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[StaffUser] = fields.ForeignKeyField(
        "models.StaffUser", related_name="roles", on_delete=fields.CASCADE
    )
    library: fields.ForeignKeyNullableRelation[Library] = fields.ForeignKeyField(
        "models.Library", related_name="roles", null=True, on_delete=fields.CASCADE
    )
    network: fields.ForeignKeyNullableRelation[Network] = fields.ForeignKeyField(
        "models.Network", related_name="roles", null=True, on_delete=fields.CASCADE
    )
    role = fields.CharEnumField(RoleName, max_length=16)

    class Meta:
        table = "role"
        unique_together = (("user", "library", "network", "role"),)
        constraints = (
            CheckConstraint(
                check=(
                    "(role = 'coordinator' AND network_id IS NOT NULL AND library_id IS NULL)"
                    " OR (role <> 'coordinator' AND library_id IS NOT NULL AND network_id IS NULL)"
                ),
                name="role_scope_matches_role",
            ),
        )


class ApiToken(Model):
    """A bearer token for scripts: only its SHA-256 is stored, the token is shown once."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[StaffUser] = fields.ForeignKeyField(
        "models.StaffUser", related_name="tokens", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=100)
    prefix = fields.CharField(max_length=16)
    token_hash = fields.CharField(max_length=64, unique=True)
    created_at: dt.datetime = fields.DatetimeField(auto_now_add=True)
    last_used_at: dt.datetime | None = fields.DatetimeField(null=True)
    revoked_at: dt.datetime | None = fields.DatetimeField(null=True)

    class Meta:
        table = "api_token"


class StaffFeed(Model):
    """A staff member's private calendar feed: only the SHA-256 of its secret is kept.

    Regenerating replaces the row, revoking deletes it; either way the old URL is dead.
    """

    id = fields.IntField(primary_key=True)
    user: fields.OneToOneRelation[StaffUser] = fields.OneToOneField(
        "models.StaffUser", related_name="feed", on_delete=fields.CASCADE
    )
    prefix = fields.CharField(max_length=16)
    token_hash = fields.CharField(max_length=64, unique=True)
    created_at: dt.datetime = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "staff_feed"


class AuditEntry(Model):
    """Who changed what and when."""

    id = fields.BigIntField(primary_key=True)
    at: dt.datetime = fields.DatetimeField()
    user: fields.ForeignKeyNullableRelation[StaffUser] = fields.ForeignKeyField(
        "models.StaffUser", related_name="audit_entries", null=True, on_delete=fields.SET_NULL
    )
    library: fields.ForeignKeyNullableRelation[Library] = fields.ForeignKeyField(
        "models.Library", related_name="audit_entries", null=True, on_delete=fields.SET_NULL
    )
    action = fields.CharField(max_length=64)
    entity = fields.CharField(max_length=64)
    entity_id = fields.CharField(max_length=64)
    changes: dict[str, Any] = fields.JSONField(default=dict)

    class Meta:
        table = "audit_entry"
        indexes = (("entity", "entity_id"),)

    @classmethod
    async def record(
        cls,
        using_db: BaseDBAsyncClient,
        *,
        user: StaffUser | None,
        library_id: int | None,
        action: str,
        entity: str,
        entity_id: int | str,
        changes: dict[str, Any],
    ) -> AuditEntry:
        """One entry, stamped now (UTC), written in the caller's transaction."""
        return await cls.create(
            at=dt.datetime.now(dt.UTC),
            user=user,
            library_id=library_id,
            action=action,
            entity=entity,
            entity_id=str(entity_id),
            changes=changes,
            using_db=using_db,
        )
