"""Partner organisations over HTTP: the API (declared models, in ``/openapi.json``) and
the staff pages that list, create and edit them (``/staff/partners``)."""

from __future__ import annotations

from typing import Annotated, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from outreach.errors import Invalid, NotFound
from outreach.i18n import gettext as _
from outreach.models import Library, Partner, PartnerKind
from outreach.partners import (
    SLUG_TAKEN,
    PartnerFields,
    partner_json,
    partners_of,
    save_partner,
)
from outreach.schemas import SLUG_PATTERN, Answer, Declared, OneOf, Text, validate
from outreach.web import auth, staff
from outreach.web.auth import EDITORS, READERS
from outreach.web.boundary import declare, read_json

KINDS = tuple(kind.value for kind in PartnerKind)
FORM = ("slug", "name", "kind", "website")


class PartnerIn(Declared):
    """A partner organisation of a library."""

    what = "a partner"
    slug: Annotated[str, Text(64, SLUG_PATTERN, "1 to 64 lower-case letters, digits and '-'")]
    name: Annotated[str, Text(200)]
    kind: Annotated[str, OneOf(KINDS)]
    website: Annotated[str, Text(300)] = ""


class PartnerChange(Declared):
    """Fields of a partner to change; the others stay."""

    what = "a partner"
    slug: Annotated[str, Text(64, SLUG_PATTERN, "1 to 64 lower-case letters, digits and '-'")] = ""
    name: Annotated[str, Text(200)] = ""
    kind: Annotated[str, OneOf(KINDS)] = ""
    website: Annotated[str, Text(300)] = ""


class PartnerOut(Answer):
    id: int
    library: str
    slug: str
    name: str
    kind: str
    website: str
    # A demo partnership (made up for the demo), not one of the library's own records.
    demo: bool
    source: dict[str, Any] | None


class PartnerList(Answer):
    partners: list[PartnerOut]


async def _library(slug: str) -> Library:
    library = await Library.get_or_none(slug=slug)
    if library is None:
        raise NotFound("library")
    return library


async def _partner(request: Request) -> tuple[Partner, Library]:
    partner = await Partner.get_or_none(id=request.path_params["id"])
    if partner is None:
        raise NotFound("partner")
    return partner, await Library.get(id=partner.library_id)  # type: ignore[attr-defined]


@declare(answer=PartnerList)
async def list_partners(request: Request) -> JSONResponse:
    """The library's partner organisations (staff of the library only)."""
    library = await _library(request.path_params["slug"])
    await auth.require_library_role(request, library.id, READERS)
    return JSONResponse(
        {"partners": [partner_json(p, library.slug) for p in await partners_of(library)]}
    )


@declare(body=PartnerIn, answer=PartnerOut, status=201)
async def create_partner(request: Request) -> JSONResponse:
    """A new partner organisation of the library."""
    library = await _library(request.path_params["slug"])
    user = await auth.require_library_role(request, library.id, EDITORS)
    new = await read_json(request, PartnerIn)
    partner = await save_partner(
        library, user, PartnerFields(new.slug, new.name, PartnerKind(new.kind), new.website)
    )
    return JSONResponse(partner_json(partner, library.slug), status_code=201)


@declare(body=PartnerChange, answer=PartnerOut)
async def patch_partner(request: Request) -> JSONResponse:
    """Change a partner's slug, name, kind or website."""
    partner, library = await _partner(request)
    user = await auth.require_library_role(request, library.id, EDITORS)
    change = (await read_json(request, PartnerChange)).model_dump(exclude_unset=True)
    fields = PartnerFields(
        change.get("slug", partner.slug),
        change.get("name", partner.name),
        PartnerKind(change.get("kind", partner.kind.value)),
        change.get("website", partner.website),
    )
    partner = await save_partner(library, user, fields, partner=partner)
    return JSONResponse(partner_json(partner, library.slug))


# --- staff pages ------------------------------------------------------------------------


def kind_names() -> dict[str, str]:
    """Each kind of partner by its name in the reader's language."""
    return {
        PartnerKind.PUBLIC.value: _("Public body"),
        PartnerKind.NON_PROFIT.value: _("Non-profit organisation"),
        PartnerKind.COMMUNITY.value: _("Community group"),
        PartnerKind.EDUCATION.value: _("School or educator"),
        PartnerKind.BUSINESS.value: _("Business"),
        PartnerKind.INDIVIDUAL.value: _("Individual"),
    }


async def partners_page(request: Request) -> Response:
    """The partners of every library where the user edits."""
    access = [a for a in await staff.libraries_of(request.state.user) if a.can_edit]
    libraries = [(a.library, await partners_of(a.library)) for a in access]
    return staff.render(
        request, "staff/partners.html", {"libraries": libraries, "kinds": kind_names()}
    )


async def _form_page(
    request: Request,
    library: Library,
    partner: Partner | None,
    entered: dict[str, str],
    errors: dict[str, str] | None = None,
) -> Response:
    context = {
        "library": library,
        "partner": partner,
        "form": entered,
        "errors": errors or {},
        "kinds": kind_names(),
    }
    return staff.render(
        request, "staff/partners_form.html", context, status_code=422 if errors else 200
    )


def _form_problems(fields: dict[str, str]) -> dict[str, str]:
    """The refused fields of the form, each told in the reader's language."""
    told = {
        "slug": _("Use lower-case letters, digits and hyphens, at most 64."),
        "name": _("Enter the partner's name."),
        "kind": _("Choose a kind."),
        "website": _("Enter a web address starting with https:// or http://."),
    }
    problems = {name: told.get(name, problem) for name, problem in fields.items()}
    if fields.get("slug") == SLUG_TAKEN:
        problems["slug"] = _("Another partner of this library already has this short name.")
    return problems


async def _entered(request: Request) -> dict[str, str]:
    form = await request.form()
    return {name: str(form.get(name, "")).strip() for name in FORM}


async def _save_from_form(request: Request, library: Library, partner: Partner | None) -> Response:
    user = await auth.require_library_role(request, library.id, EDITORS)
    entered = await _entered(request)
    try:
        checked = validate(PartnerIn, entered)
        saved = await save_partner(
            library,
            user,
            PartnerFields(checked.slug, checked.name, PartnerKind(checked.kind), checked.website),
            partner=partner,
        )
    except Invalid as exc:
        return await _form_page(request, library, partner, entered, _form_problems(exc.fields))
    staff.flash(request, _("Partner %(name)s saved.", name=saved.name))
    return RedirectResponse("/staff/partners", status_code=303)


async def new_partner(request: Request) -> Response:
    if request.method == "GET":
        library = await _library(request.query_params.get("library", ""))
        await auth.require_library_role(request, library.id, EDITORS)
        return await _form_page(request, library, None, dict.fromkeys(FORM, ""))
    library = await _library(str((await request.form()).get("library", "")))
    return await _save_from_form(request, library, None)


async def edit_partner(request: Request) -> Response:
    partner, library = await _partner(request)
    if request.method == "GET":
        await auth.require_library_role(request, library.id, EDITORS)
        entered = {
            "slug": partner.slug,
            "name": partner.name,
            "kind": partner.kind.value,
            "website": partner.website,
        }
        return await _form_page(request, library, partner, entered)
    return await _save_from_form(request, library, partner)


routes: list[BaseRoute] = [
    Route("/api/libraries/{slug:slug}/partners", list_partners, methods=["GET"]),
    Route("/api/libraries/{slug:slug}/partners", create_partner, methods=["POST"]),
    Route("/api/partners/{id:id}", patch_partner, methods=["PATCH"]),
    Route("/staff/partners", staff.page(partners_page), methods=["GET"]),
    Route("/staff/partners/new", staff.page(new_partner), methods=["GET", "POST"]),
    Route("/staff/partners/{id:id}/edit", staff.page(edit_partner), methods=["GET", "POST"]),
]
