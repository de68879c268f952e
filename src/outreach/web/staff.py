"""Staff pages: sign-in, the programme list, the event form and the event's occurrences.

A thin layer over ``outreach.scheduling.service``: every write goes through the same
functions and validation as the JSON API, so a form and the API refuse the same things.
Pages answer HTML; errors the service raises (:class:`DomainError`) are shown beside the
fields they name. The form's translation to and from the API payload is in
:mod:`outreach.web.staff_forms`; CSRF protection in :mod:`outreach.web.csrf`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import wraps
from typing import Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route
from tortoise.expressions import Q, Subquery
from tortoise.functions import Min

from outreach import i18n, publicity
from outreach.db import instant
from outreach.i18n import gettext as _
from outreach.labels import event_field_labels
from outreach.languages import translated as tr
from outreach.models import (
    AgeBand,
    ApprovalDecision,
    ApprovalKind,
    ApprovalRequest,
    ApprovalState,
    Attendance,
    AttendanceMode,
    Audience,
    Branch,
    Event,
    EventAudience,
    EventFormat,
    EventKind,
    EventStatus,
    EventTag,
    Goal,
    Library,
    Occurrence,
    Partner,
    Role,
    RoleName,
    Room,
    StaffUser,
    StrategyValue,
    Theme,
    Visibility,
)
from outreach.scheduling import approval, approval_notices, service
from outreach.scheduling.payload import EventData, parse_fields
from outreach.scheduling.serialise import event_data, utc_iso
from outreach.security import dummy_password_hash, verify_password
from outreach.strategies import strategies_for_library
from outreach.web import auth, csrf, language
from outreach.web.errors import DomainError, NotFound, status_of
from outreach.web.links import origin
from outreach.web.staff_forms import (
    WEEKDAYS,
    FormState,
    describe_rule,
    field_problems,
    first,
    form_from_event,
    form_problems,
    form_state,
    number_or_raw,
    payload_from_form,
    repeats,
    weekday_names,
)
from outreach.web.staff_labels import LABELS, moment

Endpoint = Callable[[Request], Awaitable[Response]]
READ_ROLES = tuple(RoleName)
EDIT_ROLES = (RoleName.EDITOR,)
FLASH_KEY = "flash"


# --- rendering ------------------------------------------------------------------------


def render(
    request: Request, template: str, context: dict[str, Any], *, status_code: int = 200
) -> HTMLResponse:
    """Render a staff template with the user, the CSRF token and pending messages."""
    base = {
        "user": getattr(request.state, "user", None),
        "nav": getattr(request.state, "nav", None),
        "label": LABELS,
        "moment": moment,
        "csrf_token": csrf.csrf_token(request),
        "messages": request.session.pop(FLASH_KEY, []),
    }
    response = request.app.state.templates.TemplateResponse(
        request, template, {**base, **context}, status_code=status_code
    )
    assert isinstance(response, HTMLResponse)
    # Staff pages hold internal data: never cache them in shared caches.
    response.headers["Cache-Control"] = "private, no-store"
    return response


def not_found_message(exc: DomainError) -> str:
    """What was not found, in words: by what the domain says it looked for, never by the
    words of its message."""
    if isinstance(exc, NotFound) and exc.message:
        return exc.message
    what = exc.what if isinstance(exc, NotFound) else ""
    names = {
        "event": _("No such event."),
        "occurrence": _("No such occurrence."),
        "library": _("No such library."),
        "approval request": _("No such approval request."),
        "route": _("No such route."),
        "stop": _("No such stop."),
        "vehicle": _("This vehicle does not exist."),
        "partner": _("This partner does not exist."),
        "room": _("This room does not exist."),
        "room request": _("This request does not exist."),
        "registration": _("This registration does not exist."),
        "outreach service": _("This outreach service does not exist."),
        "strategy": _("There is no such strategy."),
        "network": _("There is no such network."),
    }
    return names.get(what, _("Not found."))


def flash(request: Request, text: str, level: str = "ok", *, items: Sequence[str] = ()) -> None:
    """A message shown on the next page rendered (after a redirect); ``items`` below it,
    one a line (each problem of a refusal)."""
    messages = list(request.session.get(FLASH_KEY, []))
    messages.append({"text": text, "level": level, "items": list(items)})
    request.session[FLASH_KEY] = messages


def error_page(request: Request, status_code: int, title: str, message: str) -> HTMLResponse:
    return render(
        request,
        "staff/error.html",
        {"title": title, "message": message},
        status_code=status_code,
    )


async def csrf_failed(request: Request) -> Response:
    return error_page(
        request,
        403,
        _("Form expired"),
        _(
            "This form could not be accepted because its security token is missing or out"
            " of date. Go back, reload the page and send it again."
        ),
    )


def safe_next(raw: str | None) -> str:
    """A local staff path to return to after signing in (never another site)."""
    if raw and raw.startswith("/staff") and not raw.startswith("//") and "\\" not in raw:
        return raw
    return "/staff/"


def login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/staff/login?next={quote(target, safe='')}", status_code=303)


def page(endpoint: Endpoint, *, public: bool = False) -> Endpoint:
    """Wrap a page: CSRF check on unsafe methods, sign-in required, errors as HTML."""

    @wraps(endpoint)
    async def wrapped(request: Request) -> Response:
        request.state.user = await auth.authenticate(request)
        if request.state.user is None and not public:
            return login_redirect(request)
        if request.state.user is not None:
            request.state.nav = await navigation(request.state.user)
        await speak_to(request, request.state.user)
        try:
            return await endpoint(request)
        except DomainError as exc:
            status = status_of(exc)
            if status == 401:
                return login_redirect(request)
            if status == 403:
                return error_page(
                    request, 403, _("Not allowed"), _("You hold no role that allows this here.")
                )
            if status == 404:
                return error_page(request, 404, _("Not found"), not_found_message(exc))
            raise

    return csrf.protect(wrapped, on_failure=csrf_failed)


# --- access ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Navigation:
    """What the header offers a user: only what one of their roles lets them do."""

    edit: bool
    approve: bool
    report: bool
    admin: bool
    # The network whose report a coordinator reads (the report's form offers the rest).
    network: str | None
    # The language of the user's first library (or network): theirs if nothing else says.
    default_language: str

    @property
    def report_url(self) -> str:
        base = "/staff/reports/coverage"
        return f"{base}?{urlencode({'network': self.network})}" if self.network else base


async def navigation(user: StaffUser) -> Navigation:
    roles = await Role.filter(user_id=user.id).order_by("id").prefetch_related("library", "network")
    held = {r.role for r in roles}
    networks = sorted(r.network.slug for r in roles if r.network is not None)
    scopes = [r.library or r.network for r in roles]
    return Navigation(
        edit=bool(held & {RoleName.EDITOR, RoleName.ADMIN}),
        approve=bool(held & {RoleName.DIRECTOR, RoleName.ADMIN}),
        report=bool(held & {RoleName.DIRECTOR, RoleName.ADMIN, RoleName.COORDINATOR}),
        admin=RoleName.ADMIN in held,
        network=networks[0] if networks else None,
        default_language=next(
            (scope.default_language for scope in scopes if scope is not None),
            i18n.SOURCE_LANGUAGE,
        ),
    )


async def speak_to(request: Request, user: StaffUser | None) -> str:
    """Write the page in the staff member's language: one asked for with ``?lang=`` (the
    language switch, which also keeps it as their preference), else their preference,
    else what the browser asks for, else their library's language."""
    if user is None:
        return language.negotiate(request, default=i18n.SOURCE_LANGUAGE)
    asked = i18n.interface_language(request.query_params.get("lang"))
    if asked is not None and asked != user.language:
        await StaffUser.filter(id=user.id).update(language=asked)
        user.language = asked
    default = request.state.nav.default_language
    chosen = i18n.use(asked or user.language or language.requested(request) or default)
    request.state.language = chosen
    return chosen


@dataclass
class LibraryAccess:
    """A library the user may see, and what they may do there."""

    library: Library
    roles: list[str] = field(default_factory=list)

    @property
    def can_edit(self) -> bool:
        return RoleName.EDITOR in self.roles or RoleName.ADMIN in self.roles


async def libraries_of(user: StaffUser) -> list[LibraryAccess]:
    """The libraries where ``user`` holds a role, directly or through a network."""
    roles = await Role.filter(user_id=user.id)
    library_ids = {r.library_id for r in roles if r.library_id is not None}  # type: ignore[attr-defined]
    network_ids = {r.network_id for r in roles if r.network_id is not None}  # type: ignore[attr-defined]
    if not library_ids and not network_ids:
        return []
    libraries = await Library.filter(
        Q(id__in=library_ids or {0}) | Q(network_id__in=network_ids or {0})
    ).order_by("slug")
    access = []
    for library in libraries:
        names = [r.role.value for r in roles if r.library_id == library.id]  # type: ignore[attr-defined]
        names += [
            r.role.value
            for r in roles
            if r.network_id is not None and r.network_id == library.network_id  # type: ignore[attr-defined]
        ]
        access.append(LibraryAccess(library, sorted(set(names))))
    return access


# --- sign-in --------------------------------------------------------------------------


async def login(request: Request) -> Response:
    """The sign-in form; on success the session is renewed and the user sent on."""
    next_url = safe_next(request.query_params.get("next"))
    if request.method == "GET":
        if request.state.user is not None:
            return RedirectResponse(next_url, status_code=303)
        return render(request, "staff/login.html", {"next": next_url, "email": "", "error": ""})
    form = await request.form()
    email = str(form.get("email") or "").strip()
    password = str(form.get("password") or "")
    next_url = safe_next(str(form.get("next") or ""))
    user = await StaffUser.get_or_none(email__iexact=email) if 0 < len(email) <= 254 else None
    # Argon2 is slow by design: verify off the event loop, and against a dummy hash for
    # unknown e-mails so that timing does not tell which addresses exist.
    password_hash = user.password_hash if user is not None else dummy_password_hash()
    ok = await run_in_threadpool(verify_password, password_hash, password)
    if user is None or not user.is_active or not ok:
        return render(
            request,
            "staff/login.html",
            {"next": next_url, "email": email, "error": _("Wrong e-mail or password.")},
            status_code=400,
        )
    # A fresh session (and CSRF token) so that nothing planted before sign-in survives it.
    request.session.clear()
    request.session["user_id"] = user.id
    request.session["epoch"] = user.session_epoch
    csrf.rotate_csrf_token(request)
    return RedirectResponse(next_url, status_code=303)


async def logout(request: Request) -> Response:
    """Sign out: the cookie is a signed copy anyone holding it could replay, so clearing it
    is not enough; moving the user's session epoch on revokes every copy of it (and of the
    user's other sessions: signing out signs out everywhere)."""
    user_id, epoch = request.session.get("user_id"), request.session.get("epoch", 0)
    if isinstance(user_id, int) and isinstance(epoch, int):
        await StaffUser.filter(id=user_id, session_epoch=epoch).update(session_epoch=epoch + 1)
    request.session.clear()
    return RedirectResponse("/staff/login", status_code=303)


async def dashboard(request: Request) -> Response:
    """The user's libraries and their roles there, what waits for their approval and
    how their own submissions stand."""
    user: StaffUser = request.state.user
    approving = [
        r.library_id  # type: ignore[attr-defined]
        for r in await Role.filter(
            user_id=user.id, library_id__isnull=False, role__in=[RoleName.DIRECTOR, RoleName.ADMIN]
        )
    ]
    waiting = await ApprovalRequest.filter(
        library_id__in=approving or [0], decision=ApprovalDecision.PENDING
    ).count()
    mine = (
        await ApprovalRequest.filter(submitted_by_id=user.id)
        .order_by("-submitted_at", "-id")
        .limit(SUBMISSIONS_SHOWN)
        .prefetch_related("event", "library")
    )
    submissions = [
        {
            "request": r,
            "title": tr(r.event.title, r.library.default_language),
            "submitted": local_time(r.submitted_at, r.library.timezone),
        }
        for r in mine
    ]
    return render(
        request,
        "staff/dashboard.html",
        {"libraries": await libraries_of(user), "waiting": waiting, "submissions": submissions},
    )


SUBMISSIONS_SHOWN = 10


# --- the programme list ---------------------------------------------------------------

PAGE_SIZE = 25


def local_time(instant: dt.datetime | None, timezone: str) -> dt.datetime | None:
    """An instant in the wall-clock time of ``timezone`` (UTC when the zone is unknown)."""
    if instant is None:
        return None
    try:
        return instant.astimezone(ZoneInfo(timezone))
    except (ZoneInfoNotFoundError, ValueError):
        return instant.astimezone(dt.UTC)


def zone_of(event: Event) -> dt.tzinfo:
    try:
        return ZoneInfo(event.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def _parse_day(raw: str, name: str, errors: dict[str, str]) -> dt.date | None:
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        errors[name] = _("must be a date such as 2026-03-01")
        return None


def _choice(raw: str, choices: type[StrEnum], name: str, errors: dict[str, str]) -> str | None:
    if not raw:
        return None
    if raw not in {c.value for c in choices}:
        errors[name] = _("is not one of the choices")
        return None
    return raw


def _whole(raw: str, name: str, errors: dict[str, str]) -> int | None:
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 9:
        errors[name] = _("must be chosen from the list")
        return None
    return int(raw)


async def event_list(request: Request) -> Response:
    """Events of the user's libraries, filtered and a page at a time."""
    user: StaffUser = request.state.user
    params = request.query_params
    access = await libraries_of(user)
    errors: dict[str, str] = {}
    filters = {name: params.get(name, "").strip() for name in LIST_FILTERS}
    library_ids = [a.library.id for a in access]
    chosen: Library | None = None
    if filters["library"]:
        chosen = await Library.get_or_none(slug=filters["library"])
        if chosen is None:
            errors["library"] = _("no such library")
        else:
            await auth.require_library_role(request, chosen.id, READ_ROLES)
            library_ids = [chosen.id]
    kind = _choice(filters["kind"], EventKind, "kind", errors)
    audience = _choice(filters["audience"], Audience, "audience", errors)
    status = _choice(filters["status"], EventStatus, "status", errors)
    branch_id = _whole(filters["branch"], "branch", errors)
    goal_id = _whole(filters["goal"], "goal", errors)
    day_from = _parse_day(filters["from"], "from", errors)
    day_to = _parse_day(filters["to"], "to", errors)
    if day_from and day_to and day_to < day_from:
        errors["to"] = _("must not be before the first day")
    try:
        page_number = max(1, min(int(params.get("page", "1")), 100_000))
    except ValueError:
        page_number = 1

    events: list[Event] = []
    total = 0
    if not errors:
        query = Event.filter(library_id__in=library_ids)
        if kind:
            query = query.filter(kind=kind)
        if status:
            query = query.filter(status=status)
        if branch_id is not None:
            query = query.filter(branch_id=branch_id)
        if audience:
            query = query.filter(
                id__in=Subquery(EventAudience.filter(audience=audience).values("event_id"))
            )
        if goal_id is not None:
            query = query.filter(
                id__in=Subquery(EventTag.filter(goal_id=goal_id).values("event_id"))
            )
        if day_from or day_to:
            # Whether any occurrence overlaps the days, read as UTC days: the filter is a
            # coarse staff tool, and library zones are within a few hours of UTC.
            occurrences = Occurrence.filter(library_id__in=library_ids)
            if day_from:
                occurrences = occurrences.filter(
                    ends_at__gt=dt.datetime.combine(day_from, dt.time(), tzinfo=dt.UTC)
                )
            if day_to:
                occurrences = occurrences.filter(
                    starts_at__lt=dt.datetime.combine(
                        day_to + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC
                    )
                )
            query = query.filter(id__in=Subquery(occurrences.values("event_id")))
        total = await query.count()
        events = (
            await query.order_by("starts_at", "id")
            .offset((page_number - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE)
            .prefetch_related("library", "branch", "room", "tags__goal", "tags__value")
        )

    coming = await next_starts([event.id for event in events])
    visible_ids = [a.library.id for a in access] if chosen is None else [chosen.id]
    branches = await Branch.filter(library_id__in=visible_ids).order_by("name")
    goals = await _goals_for(access if chosen is None else [LibraryAccess(chosen)])
    rows = [
        {
            "event": event,
            "title": tr(event.title, event.library.default_language),
            "starts": local_time(event.starts_at, event.timezone),
            "repeats": describe_rule(event),
            "next": local_time(coming.get(event.id), event.timezone),
            "goals": sorted(t.goal.code for t in event.tags if t.goal is not None),
            "values": sorted(t.value.code for t in event.tags if t.value is not None),
        }
        for event in events
    ]
    pages = max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE)

    def page_url(number: int) -> str:
        kept = {k: v for k, v in filters.items() if v}
        return "/staff/events?" + urlencode({**kept, "page": number})

    return render(
        request,
        "staff/events.html",
        {
            "rows": rows,
            "total": total,
            "page": page_number,
            "pages": pages,
            "previous_url": page_url(page_number - 1) if page_number > 1 else None,
            "next_url": page_url(page_number + 1) if page_number < pages else None,
            "filters": filters,
            "errors": errors,
            "access": access,
            "branches": branches,
            "goals": goals,
            "kinds": list(EventKind),
            "audiences": list(Audience),
            "statuses": list(EventStatus),
        },
        status_code=400 if errors else 200,
    )


async def next_starts(event_ids: list[int]) -> dict[int, dt.datetime]:
    """The next start of each event that is not cancelled, in one grouped query."""
    if not event_ids:
        return {}
    rows = (
        await Occurrence.filter(
            event_id__in=event_ids, cancelled=False, starts_at__gte=dt.datetime.now(dt.UTC)
        )
        .group_by("event_id")
        .annotate(next_start=Min("starts_at"))
        .values("event_id", "next_start")
    )
    starts = {}
    for row in rows:
        # SQLite hands aggregates back as text, PostgreSQL as datetimes.
        starts[row["event_id"]] = instant(row["next_start"])
    return starts


LIST_FILTERS = ("library", "branch", "kind", "audience", "goal", "status", "from", "to")


async def _goals_for(access: list[LibraryAccess]) -> list[tuple[Goal, str]]:
    """Goals of the strategies that apply to these libraries, for the goal filter, each
    with its strategy's name where another strategy uses the same code (P1–P5)."""
    strategy_ids: set[int] = set()
    for item in access:
        strategy_ids.update(s.id for s in await strategies_for_library(item.library))
    goals = (
        await Goal.filter(strategy_id__in=strategy_ids or {0})
        .order_by("strategy_id", "position", "id")
        .prefetch_related("strategy")
    )
    codes: dict[str, int] = {}
    for goal in goals:
        codes[goal.code] = codes.get(goal.code, 0) + 1
    lang = i18n.current()
    return [(goal, tr(goal.strategy.name, lang) if codes[goal.code] > 1 else "") for goal in goals]


# --- the event form -------------------------------------------------------------------


@dataclass
class FormContext:
    """Everything the event form offers for one library."""

    library: Library
    languages: list[str]
    branches: list[Branch]
    rooms: list[Room]
    partners: list[Partner]
    co_organisers: list[Library]
    staff: list[StaffUser]
    strategies: list[dict[str, Any]]


def form_languages(library: Library) -> list[str]:
    """The library's own language first, its other languages, then English."""
    languages = [library.default_language]
    for lang in [*library.languages, "en"]:
        if lang not in languages:
            languages.append(lang)
    return languages


async def form_context(library: Library) -> FormContext:
    """The choices the event form offers: the library's places, people and strategies."""
    strategies = []
    for strategy in await strategies_for_library(library):
        themes = await Theme.filter(strategy_id=strategy.id).order_by("position", "id")
        goals = await Goal.filter(strategy_id=strategy.id).order_by("position", "id")
        groups = [
            {"theme": theme, "goals": [g for g in goals if g.theme_id == theme.id]}  # type: ignore[attr-defined]
            for theme in themes
        ]
        loose = [g for g in goals if g.theme_id is None]  # type: ignore[attr-defined]
        if loose:
            groups.append({"theme": None, "goals": loose})
        strategies.append(
            {
                "strategy": strategy,
                "values": await StrategyValue.filter(strategy_id=strategy.id).order_by(
                    "position", "id"
                ),
                "groups": groups,
            }
        )
    return FormContext(
        library=library,
        languages=form_languages(library),
        branches=await Branch.filter(library_id=library.id).order_by("name"),
        rooms=await Room.filter(branch__library_id=library.id)
        .order_by("branch_id", "name")
        .prefetch_related("branch"),
        partners=await Partner.filter(library_id=library.id).order_by("name"),
        co_organisers=await Library.filter(id__not=library.id).order_by("slug"),
        staff=await StaffUser.filter(roles__library_id=library.id, is_active=True)
        .distinct()
        .order_by("name"),
        strategies=strategies,
    )


def conflict_rows(
    conflicts: list[dict[str, Any]],
    library: Library,
    names: dict[tuple[str, int], str],
    *,
    reader: StaffUser | None = None,
) -> list[dict[str, Any]]:
    """Conflicts from a 409, each with a sentence in the page's language that names the
    room, person or vehicle and gives the local day and times (``names``: the library's
    rooms and staff by ``(resource, id)``). The other booking is named only where the 409
    named it (``title``: what ``reader`` may see, see
    :func:`outreach.scheduling.conflicts.nameable`); otherwise it is "another booking"."""
    rows = []
    for conflict in conflicts:
        start = local_time(dt.datetime.fromisoformat(conflict["start"]), library.timezone)
        end = local_time(dt.datetime.fromisoformat(conflict["end"]), library.timezone)
        assert start is not None
        assert end is not None
        raw_title = conflict.get("title")
        title = tr(raw_title, library.default_language) if isinstance(raw_title, dict) else ""
        resource = str(conflict.get("resource"))
        ident = int(conflict.get("resource_id") or 0)
        name = names.get((resource, ident), "")
        words = {
            "times": i18n.format_interval(start, end, "Hm"),
            "day": i18n.format_date(start.date(), "full"),
            "title": title,
        }
        if not title:
            message = _other_booking(resource, name, words)
        elif resource == "room" and conflict.get("booking") is not None:
            message = _(
                "Room %(room)s is booked %(times)s on %(day)s for an approved room request.",
                room=name,
                **words,
            )
        elif resource == "room":
            message = _(
                "Room %(room)s is booked %(times)s on %(day)s by “%(title)s”.", room=name, **words
            )
        elif resource == "staff" and reader is not None and reader.id == ident:
            message = _("You are busy %(times)s on %(day)s with “%(title)s”.", **words)
        elif resource == "staff":
            message = _(
                "%(person)s is busy %(times)s on %(day)s with “%(title)s”.", person=name, **words
            )
        else:
            message = _("The bookmobile is out %(times)s on %(day)s for “%(title)s”.", **words)
        rows.append({**conflict, "title_text": title, "message": message})
    return rows


def _other_booking(resource: str, name: str, words: dict[str, str]) -> str:
    """A conflict with a booking the reader may not see: what is taken and when, not by
    what (nor, for a staff member, that it is their own)."""
    if resource == "room":
        return _(
            "Room %(room)s is taken %(times)s on %(day)s by another booking.", room=name, **words
        )
    if resource == "staff":
        return _(
            "%(person)s is busy %(times)s on %(day)s with another booking.", person=name, **words
        )
    return _("The bookmobile is out %(times)s on %(day)s for another booking.", **words)


def resource_names(rooms: list[Room], staff: list[StaffUser]) -> dict[tuple[str, int], str]:
    names = {("room", room.id): room.name for room in rooms}
    names.update({("staff", person.id): person.name for person in staff})
    return names


def field_names() -> dict[str, str]:
    """The event form's fields as the form labels them, for the list of problems."""
    return {
        **event_field_labels(),
        "start": _("Start"),
        "end": _("End"),
        "rrule": _("Custom rule"),
        "revision": _("Revision"),
    }


def shared_goal_codes(context: FormContext) -> set[str]:
    """Goal codes that more than one of the form's strategies use (P1–P5 in several):
    those goals name their strategy."""
    seen: dict[str, int] = {}
    for item in context.strategies:
        codes = {goal.code for group in item["groups"] for goal in group["goals"]}
        for code in codes:
            seen[code] = seen.get(code, 0) + 1
    return {code for code, count in seen.items() if count > 1}


def _form_page(
    request: Request,
    context: FormContext,
    state: FormState,
    *,
    event: Event | None = None,
    error: DomainError | None = None,
) -> HTMLResponse:
    problems = form_problems(field_problems(error.fields), state) if error is not None else {}
    raw_conflicts = error.extra.get("conflicts") if error is not None else None
    conflicts = (
        conflict_rows(
            raw_conflicts,
            context.library,
            resource_names(context.rooms, context.staff),
            reader=request.state.user,
        )
        if isinstance(raw_conflicts, list)
        else []
    )
    conflict_resources = {c["resource"] for c in conflicts}
    return render(
        request,
        "staff/event_form.html",
        {
            "form": context,
            "event": event,
            "f": state,
            "value": lambda name: first(state, name),
            "chosen": lambda name, option: str(option) in state.get(name, []),
            "problems": problems,
            "error": error,
            "conflicts": conflicts,
            "conflict_resources": conflict_resources,
            "field_names": field_names(),
            "needs_approval": approval.asks_approval(context.library)
            and not getattr(request.state, "approver", False),
            "shared_codes": shared_goal_codes(context),
            "rrule_example": "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU",
            "kinds": list(EventKind),
            "audiences": list(Audience),
            "formats": list(EventFormat),
            "visibilities": list(Visibility),
            "weekdays": list(zip(WEEKDAYS, weekday_names(), strict=True)),
            "repeats": repeats(),
        },
        status_code=status_of(error) if error is not None else 200,
    )


def _new_event_state(library: Library) -> FormState:
    return {
        "timezone": [library.timezone],
        "repeat": ["none"],
        "format": [EventFormat.IN_PERSON.value],
        "visibility": [Visibility.PUBLIC.value],
        "status": [EventStatus.DRAFT.value],
        "languages": [library.default_language],
    }


async def new_event(request: Request) -> Response:
    """Create an event in one of the user's libraries."""
    user: StaffUser = request.state.user
    slug = request.query_params.get("library", "")
    if not slug:
        editable = [a for a in await libraries_of(user) if a.can_edit]
        if len(editable) != 1:
            return render(request, "staff/choose_library.html", {"libraries": editable})
        slug = editable[0].library.slug
    library = await Library.get_or_none(slug=slug)
    if library is None:
        raise NotFound("library")
    await auth.require_library_role(request, library.id, EDIT_ROLES)
    request.state.approver = await auth.may_approve(user, library.id)
    context = await form_context(library)
    if request.method == "GET":
        return _form_page(request, context, _new_event_state(library))
    state = form_state(await request.form())
    try:
        result = await service.create_event(
            library,
            payload_from_form(state, context.languages),
            user=user,
            approver=request.state.approver,
        )
    except DomainError as exc:
        if status_of(exc) in (401, 403, 404):
            raise
        return _form_page(request, context, state, error=exc)
    flash(request, _("The event was created."))
    _flash_warnings(request, result.warnings)
    return RedirectResponse(f"/staff/events/{result.event.id}", status_code=303)


async def edit_event(request: Request) -> Response:
    """Change an event through the same form."""
    user: StaffUser = request.state.user
    event = await _event_or_404(request)
    await auth.require_library_role(request, event.library.id, EDIT_ROLES)
    request.state.approver = await auth.may_approve(user, event.library.id)
    context = await form_context(event.library)
    if request.method == "GET":
        return _form_page(
            request, context, form_from_event(event, await _held_version(event)), event=event
        )
    state = form_state(await request.form())
    payload = payload_from_form(state, context.languages)
    revision = first(state, "revision")
    if revision:
        # The revision seen when the form was opened: the service refuses the change if
        # someone else saved the event in between.
        payload["revision"] = number_or_raw(revision, int)
    try:
        result = await service.update_event(
            event.id,
            payload,
            user=user,
            approver=request.state.approver,
            base_url=origin(request),
        )
    except DomainError as exc:
        if status_of(exc) in (401, 403, 404):
            raise
        return _form_page(request, context, state, event=event, error=exc)
    if result.pending is not None:
        flash(request, _("Your change waits for a director's approval; the event is unchanged."))
        return RedirectResponse(f"/staff/events/{event.id}", status_code=303)
    if result.unchanged:
        flash(request, _("The event is as published: no change waits for approval."))
        return RedirectResponse(f"/staff/events/{event.id}", status_code=303)
    flash(request, _("The event was saved."))
    _flash_warnings(request, result.warnings)
    return RedirectResponse(f"/staff/events/{event.id}", status_code=303)


async def _held_version(event: Event) -> EventData | None:
    """The event as its held change would publish it, for its editors to go on from."""
    pending = await approval.pending_change(None, event.id)
    if pending is None or not pending.changes:
        return None
    return dataclasses.replace(event_data(event), **parse_fields(pending.changes, partial=True))


def _flash_warnings(request: Request, warnings: list[dict[str, Any]]) -> None:
    for warning in warnings:
        if warning.get("warning") != "outside_opening_hours":
            flash(request, str(warning.get("message") or warning.get("warning") or ""), "warning")
            continue
        # Local wall-clock starts, as the service lists them.
        starts = [dt.datetime.fromisoformat(str(s)) for s in warning.get("occurrences") or []]
        text = i18n.ngettext(
            "%(num)s of %(checked)s occurrences falls outside the opening hours of its branch",
            "%(num)s of %(checked)s occurrences fall outside the opening hours of their branch",
            int(warning.get("count") or len(starts)),
            checked=i18n.format_number(int(warning.get("checked") or len(starts))),
        )
        if starts:
            listed = i18n.format_list([moment(s) for s in starts])
            text = _("%(warning)s: %(starts)s", warning=text, starts=listed)
        flash(request, text, "warning")


async def _event_or_404(request: Request) -> Event:
    raw = request.path_params["event_id"]
    return await service.load_event(raw)


# --- an event and its occurrences -----------------------------------------------------

COMING_SHOWN = 30
PAST_SHOWN = 20
AGE_BANDS = [band.value for band in AgeBand]
MODES = [mode.value for mode in AttendanceMode]


@dataclass
class OccurrenceForm:
    """A form about one occurrence that came back refused, to show it again."""

    key: str
    kind: str  # "change" or "attendance"
    state: FormState
    error: DomainError
    problems: dict[str, list[str]] = field(default_factory=dict)


def _occurrence_key(original_start: dt.datetime | None, stop: object) -> str:
    """Which occurrence's form a refused submission belongs to."""
    start = utc_iso(original_start) if original_start is not None else ""
    return start + (f"/{stop}" if stop else "")


def _datetime_local(instant: dt.datetime | None) -> str:
    return instant.strftime("%Y-%m-%dT%H:%M") if instant is not None else ""


async def _detail_page(
    request: Request, event: Event, *, refused: OccurrenceForm | None = None
) -> HTMLResponse:
    now = dt.datetime.now(dt.UTC)
    user: StaffUser = request.state.user
    can_edit = await auth.has_library_role(user, event.library.id, EDIT_ROLES)
    submission = (
        await ApprovalRequest.filter(event_id=event.id, kind=ApprovalKind.PUBLISH)
        .order_by("-submitted_at", "-id")
        .first()
    )
    held = await approval.pending_change(None, event.id)
    held_lines = await approval_notices.describe(None, held, event) if held is not None else []
    held_starts = set((held.occurrences or {}) if held is not None else {})
    may_withdraw = held is not None and user.id in {
        *(held.editors or []),
        held.submitted_by_id,  # type: ignore[attr-defined]
    }
    base = Occurrence.filter(event_id=event.id).prefetch_related("room", "stop")
    coming = await base.filter(starts_at__gt=now).order_by("starts_at").limit(COMING_SHOWN)
    past = await base.filter(starts_at__lte=now).order_by("-starts_at").limit(PAST_SHOWN)
    counts: dict[tuple[str, int | None], dict[str, int]] = {}
    if past:
        rows = await Attendance.filter(
            event_id=event.id, original_start__in=[o.original_start for o in past]
        )
        for row in rows:
            key = (utc_iso(row.original_start), row.stop_id)  # type: ignore[attr-defined]
            counts.setdefault(key, {})[f"{row.age_band.value}_{row.mode.value}"] = row.count
    lang = event.library.default_language

    def shown(occurrence: Occurrence) -> dict[str, Any]:
        key = _occurrence_key(occurrence.original_start, occurrence.stop_id)  # type: ignore[attr-defined]
        recorded = counts.get(
            (utc_iso(occurrence.original_start), occurrence.stop_id),  # type: ignore[attr-defined]
            {},
        )
        moved = occurrence.starts_at != occurrence.original_start
        return {
            "occurrence": occurrence,
            "key": key,
            "original_start": utc_iso(occurrence.original_start),
            "stop": occurrence.stop_id,  # type: ignore[attr-defined]
            "starts": local_time(occurrence.starts_at, event.timezone),
            "ends": local_time(occurrence.ends_at, event.timezone),
            "original": local_time(occurrence.original_start, event.timezone) if moved else None,
            "recorded": recorded,
            "total": sum(recorded.values()),
            "refused": refused if refused is not None and refused.key == key else None,
            "held": utc_iso(occurrence.original_start) in held_starts,
        }

    rooms = await Room.filter(branch__library_id=event.library.id).order_by("name")
    raw_conflicts = refused.error.extra.get("conflicts") if refused is not None else None
    refused_conflicts = (
        conflict_rows(
            raw_conflicts,
            event.library,
            resource_names(rooms, list(event.staff)),
            reader=request.state.user,
        )
        if isinstance(raw_conflicts, list)
        else []
    )
    coming_rows, past_rows = [shown(o) for o in coming], [shown(o) for o in past]
    # A refusal whose occurrence has no form on the page (e.g. attendance for a coming
    # occurrence) is shown at the top instead.
    placed = any(
        row["refused"] is not None
        for row in (coming_rows if refused and refused.kind == "change" else past_rows)
        if not (refused and refused.kind == "attendance" and row["occurrence"].cancelled)
    )
    return render(
        request,
        "staff/event_detail.html",
        {
            "event": event,
            "data": event_data(event),
            "title": tr(event.title, lang),
            "repeats": describe_rule(event),
            "lang": lang,
            "can_edit": can_edit,
            "can_submit": can_edit
            and approval.asks_approval(event.library)
            and event.status == EventStatus.DRAFT
            and event.approval != ApprovalState.SUBMITTED,
            "submission": submission,
            "withdraw_submission": submission is not None
            and submission.decision == ApprovalDecision.PENDING
            and user.id in {*(submission.editors or []), submission.submitted_by_id},  # type: ignore[attr-defined]
            "held": held,
            "held_lines": held_lines,
            "may_withdraw": may_withdraw,
            "starts": local_time(event.starts_at, event.timezone),
            "ends": local_time(event.ends_at, event.timezone),
            # An all-day event ends at the midnight after its last day.
            "last_day": (event.ends_at.astimezone(zone_of(event)) - dt.timedelta(days=1)).date(),
            "coming": coming_rows,
            "past": past_rows,
            "rooms": rooms,
            "age_bands": AGE_BANDS,
            "modes": MODES,
            "datetime_local": _datetime_local,
            "unplaced": refused if refused is not None and not placed else None,
            "refused_conflicts": refused_conflicts,
        },
        status_code=status_of(refused.error) if refused is not None else 200,
    )


async def event_detail(request: Request) -> Response:
    """An event with its coming and past occurrences.

    Another library's public event (a double booking names it, with a link here, to
    staff of a library sharing a person or room with it) is shown to a signed-in staff
    member without a role there on its public page, where they may read it; anything
    else of another library stays refused."""
    event = await _event_or_404(request)
    user = await auth.require_user(request)
    if not await auth.has_library_role(user, event.library.id, READ_ROLES) and (
        publicity.is_public(event)
    ):
        return RedirectResponse(f"/{event.library.slug}/events/{event.id}", status_code=303)
    await auth.require_library_role(request, event.library.id, READ_ROLES)
    return await _detail_page(request, event)


def _original_start(raw: str) -> dt.datetime | None:
    try:
        value = dt.datetime.fromisoformat(raw)
    except ValueError:
        return None
    return value if value.tzinfo is not None else None


async def change_occurrence(request: Request) -> Response:
    """Cancel, restore or move one occurrence (form per occurrence on the event page)."""
    user: StaffUser = request.state.user
    event = await _event_or_404(request)
    await auth.require_library_role(request, event.library.id, EDIT_ROLES)
    state = form_state(await request.form())
    original_start = _original_start(first(state, "original_start"))
    if original_start is None:
        raise NotFound("occurrence")
    key = _occurrence_key(original_start, None)
    action = first(state, "action")
    payload: dict[str, Any] = {}
    if action == "cancel":
        payload["cancelled"] = True
    elif action == "restore":
        payload["cancelled"] = False
    else:
        # Only what was changed: an untouched time or room stays as the series has it.
        for name in ("start", "end"):
            if first(state, name) != first(state, f"current_{name}"):
                payload["start"] = first(state, "start")
                payload["end"] = first(state, "end")
        room = first(state, "room")
        if room and room != first(state, "current_room"):
            payload["room"] = number_or_raw(room, int)
    if first(state, "note"):
        payload["note"] = first(state, "note")
    if not payload:
        flash(request, _("Nothing to change."), "warning")
        return RedirectResponse(f"/staff/events/{event.id}", status_code=303)
    try:
        result = await service.change_occurrence(
            event.id,
            original_start,
            payload,
            user=user,
            approver=await auth.may_approve(user, event.library.id),
            base_url=origin(request),
        )
    except DomainError as exc:
        if status_of(exc) in (401, 403, 404):
            raise
        refused = OccurrenceForm(key, "change", state, exc, field_problems(exc.fields))
        return await _detail_page(request, event, refused=refused)
    when = local_time(original_start, event.timezone)
    assert when is not None
    shown = moment(when)
    if result.pending is not None:
        flash(
            request,
            _(
                "Your change of the occurrence of %(when)s waits for a director's approval;"
                " the occurrence is unchanged.",
                when=shown,
            ),
        )
    elif result.unchanged:
        flash(
            request,
            _("The occurrence of %(when)s is as published: no change of it waits.", when=shown),
        )
    elif action == "cancel":
        flash(request, _("The occurrence of %(when)s was cancelled.", when=shown))
    elif action == "restore":
        flash(request, _("The occurrence of %(when)s was restored.", when=shown))
    else:
        flash(request, _("The occurrence of %(when)s was changed.", when=shown))
    _flash_warnings(request, result.warnings)
    return RedirectResponse(f"/staff/events/{event.id}", status_code=303)


async def record_attendance(request: Request) -> Response:
    """Head counts for one past occurrence, by age band and on-site/online."""
    user: StaffUser = request.state.user
    event = await _event_or_404(request)
    await auth.require_library_role(request, event.library.id, EDIT_ROLES)
    state = form_state(await request.form())
    inputs = []
    counts = []
    for band in AGE_BANDS:
        for mode in MODES:
            raw = first(state, f"count_{band}_{mode}")
            if raw:
                inputs.append(f"count_{band}_{mode}")
                counts.append({"age_band": band, "mode": mode, "count": number_or_raw(raw, int)})
    stop = first(state, "stop")
    payload = {
        "original_start": first(state, "original_start"),
        "stop": number_or_raw(stop, int) if stop else None,
        "counts": counts,
    }
    try:
        await service.record_attendance(event.id, payload, user=user)
    except DomainError as exc:
        if status_of(exc) in (401, 403, 404):
            raise
        problems: dict[str, list[str]] = {}
        for name, problem in exc.fields.items():
            # counts[2].count belongs to the third filled-in box.
            match = re.match(r"counts\[(\d+)\]", name)
            target = (
                inputs[int(match.group(1))] if match and int(match.group(1)) < len(inputs) else name
            )
            problems.setdefault(target, []).append(problem)
        key = _occurrence_key(_original_start(first(state, "original_start")), stop)
        refused = OccurrenceForm(key, "attendance", state, exc, problems)
        return await _detail_page(request, event, refused=refused)
    total = sum(c["count"] for c in counts if isinstance(c["count"], int))
    flash(request, _("Attendance recorded: %(total)s in all.", total=i18n.format_number(total)))
    return RedirectResponse(f"/staff/events/{event.id}", status_code=303)


async def cancel_event(request: Request) -> Response:
    """Cancel the whole event; it is kept, with every occurrence cancelled. The first
    submission only asks to confirm, naming how many coming occurrences it cancels."""
    user: StaffUser = request.state.user
    event = await _event_or_404(request)
    await auth.require_library_role(request, event.library.id, EDIT_ROLES)
    if first(form_state(await request.form()), "confirm") != "yes":
        coming = await Occurrence.filter(
            event_id=event.id, cancelled=False, starts_at__gt=dt.datetime.now(dt.UTC)
        ).count()
        title = tr(event.title, event.library.default_language)
        return render(
            request, "staff/cancel_event.html", {"event": event, "title": title, "coming": coming}
        )
    await service.cancel_event(event.id, user=user)
    flash(request, _("The event was cancelled. It stays in the programme, marked cancelled."))
    return RedirectResponse(f"/staff/events/{event.id}", status_code=303)


routes: list[BaseRoute] = [
    Route("/staff/login", page(login, public=True), methods=["GET", "POST"]),
    Route("/staff/logout", page(logout, public=True), methods=["POST"]),
    Route("/staff/", page(dashboard), methods=["GET"]),
    Route("/staff/events", page(event_list), methods=["GET"]),
    Route("/staff/events/new", page(new_event), methods=["GET", "POST"]),
    Route("/staff/events/{event_id:int}", page(event_detail), methods=["GET"]),
    Route("/staff/events/{event_id:int}/edit", page(edit_event), methods=["GET", "POST"]),
    Route("/staff/events/{event_id:int}/cancel", page(cancel_event), methods=["POST"]),
    Route("/staff/events/{event_id:int}/occurrence", page(change_occurrence), methods=["POST"]),
    Route("/staff/events/{event_id:int}/attendance", page(record_attendance), methods=["POST"]),
]
