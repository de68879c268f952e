"""Partner organisations of a library: the bodies it runs events with (Skopje's fourth
theme, "ЈАВНИ И ПРИВАТНИ ПАРТНЕРСТВА"), created and changed by its editors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tortoise.transactions import in_transaction

from outreach.errors import Invalid
from outreach.i18n import gettext as _
from outreach.models import AuditEntry, Library, Partner, PartnerKind, StaffUser
from outreach.strategies import is_demo

SLUG_TAKEN = "is already used by another partner of this library"


@dataclass(frozen=True)
class PartnerFields:
    """A partner as staff enter it (checked by the declared models of the API and form)."""

    slug: str
    name: str
    kind: PartnerKind
    website: str = ""


async def partners_of(library: Library) -> list[Partner]:
    return await Partner.filter(library_id=library.id).order_by("name", "id")


async def save_partner(
    library: Library,
    user: StaffUser,
    fields: PartnerFields,
    *,
    partner: Partner | None = None,
) -> Partner:
    """Create a partner of ``library``, or change ``partner``; audited. A partner staff
    enter is the library's own: its source says so (``{"kind": "staff"}``)."""
    values = {
        "slug": fields.slug,
        "name": fields.name.strip(),
        "kind": fields.kind,
        "website": fields.website.strip(),
    }
    problems: dict[str, str] = {}
    if not values["name"]:
        problems["name"] = _("must not be empty")
    if values["website"] and not values["website"].startswith(("https://", "http://")):
        problems["website"] = _("must be a web address starting with https:// or http://")
    async with in_transaction("default") as conn:
        taken = Partner.filter(library_id=library.id, slug=fields.slug)
        if partner is not None:
            taken = taken.exclude(id=partner.id)
        if await taken.using_db(conn).exists():
            problems["slug"] = SLUG_TAKEN
        if problems:
            raise Invalid(problems)
        if partner is None:
            partner = await Partner.create(
                library=library, source={"kind": "staff"}, using_db=conn, **values
            )
            action = "create"
        else:
            partner.update_from_dict(values)
            await partner.save(using_db=conn)
            action = "update"
        await AuditEntry.record(
            conn,
            user=user,
            library_id=library.id,
            action=action,
            entity="partner",
            entity_id=partner.id,
            changes={**values, "kind": fields.kind.value},
        )
    return partner


def partner_json(partner: Partner, library_slug: str) -> dict[str, Any]:
    return {
        "id": partner.id,
        "library": library_slug,
        "slug": partner.slug,
        "name": partner.name,
        "kind": partner.kind.value,
        "website": partner.website,
        "demo": is_demo(partner.source),
        "source": partner.source,
    }
