"""Staff pages over real HTTP and a real database: sign-in, CSRF, the programme, forms."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import httpx
import pytest
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette

from outreach.models import (
    Attendance,
    Branch,
    Event,
    EventStatus,
    Goal,
    Library,
    Network,
    Occurrence,
    Role,
    RoleName,
    Room,
    StaffUser,
    Strategy,
    StrategyValue,
    Theme,
)
from outreach.scheduling import service
from outreach.security import hash_published_password
from outreach.web.staff import PAGE_SIZE
from tests.factories import make_branch, make_library

PASSWORD = "correct horse battery staple"
# Hashing once keeps the tests fast: Argon2 is slow on purpose.
PASSWORD_HASH = hash_published_password(PASSWORD)
HOURS = {day: [["08:00", "20:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}


@dataclass
class Staff:
    """Two libraries, a strategy for the first, and an editor in each."""

    library: Library
    other: Library
    branch: Branch
    room: Room
    hall: Room
    editor: StaffUser
    outsider: StaffUser
    goal_a1: Goal
    goal_a2: Goal


@pytest.fixture(autouse=True)
def english(client: httpx.AsyncClient) -> None:
    """These tests read the pages in English, as a browser that asks for it (the pages'
    other languages: tests/web/test_workspace.py)."""
    client.headers["Accept-Language"] = "en"


@pytest_asyncio.fixture
async def staff(db: str) -> Staff:
    network = await Network.create(slug="net", name={"en": "Network"}, default_language="sl")
    library = await make_library(
        "mkl",
        name={"sl": "Mestna knjižnica Ljubljana", "en": "Ljubljana City Library"},
        timezone="Europe/Ljubljana",
        language="sl",
        languages=["sl", "en"],
        network=network,
    )
    other = await make_library(
        "skopje",
        name={"mk": "Браќа Миладиновци", "en": "Braka Miladinovci"},
        timezone="Europe/Skopje",
        language="mk",
        languages=["mk", "sq"],
    )
    branch = await make_branch(
        library,
        "center",
        name="Knjižnica Otona Župančiča",
        address="Kersnikova 2",
        city="Ljubljana",
        lat=46.05,
        lon=14.50,
        opening_hours=HOURS,
        postcode="",
    )
    room = await Room.create(branch=branch, slug="pravljicna", name="Pravljična soba", capacity=30)
    hall = await Room.create(branch=branch, slug="dvorana", name="Dvorana", capacity=120)
    strategy = await Strategy.create(
        slug="mkl-2024",
        library=library,
        name={"sl": "Strategija MKL", "en": "MKL strategy"},
        source_language="sl",
        period_start=dt.date(2024, 1, 1),
        period_end=dt.date(2028, 12, 31),
    )
    theme = await Theme.create(
        strategy=strategy, code="A", name={"sl": "Bralna pismenost", "en": "Reading literacy"}
    )
    goal_a1 = await Goal.create(
        strategy=strategy,
        theme=theme,
        code="A1",
        position=1,
        name={"sl": "Spodbujanje branja", "en": "Encouraging reading"},
    )
    goal_a2 = await Goal.create(
        strategy=strategy,
        theme=theme,
        code="A2",
        position=2,
        name={"sl": "Družinsko branje", "en": "Family reading"},
    )
    await StrategyValue.create(
        strategy=strategy, code="equality", name={"sl": "Enakost", "en": "Equality"}
    )
    editor = await StaffUser.create(
        email="urednica@mklj.si", name="Ana Urednik", password_hash=PASSWORD_HASH
    )
    await Role.create(user=editor, library=library, role=RoleName.EDITOR)
    director = await StaffUser.create(
        email="direktor@mklj.si", name="Boris Direktor", password_hash=PASSWORD_HASH
    )
    await Role.create(user=director, library=library, role=RoleName.DIRECTOR)
    outsider = await StaffUser.create(
        email="editor@skopje.mk", name="Petar Editor", password_hash=PASSWORD_HASH
    )
    await Role.create(user=outsider, library=other, role=RoleName.EDITOR)
    return Staff(library, other, branch, room, hall, editor, outsider, goal_a1, goal_a2)


_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = _TOKEN.search(html)
    assert match is not None, "no CSRF token in the page"
    return match.group(1)


def _full(day: dt.date) -> str:
    """A day as the English pages write it in full: "Tuesday, December 8, 2026"."""
    return f"{day:%A, %B} {day.day}, {day.year}"


def _moment(day: dt.date, clock: str) -> str:
    """A day and time as the English staff pages write it: "Tue, Dec 8, 2026, 19:00"."""
    return f"{day:%a, %b} {day.day}, {day.year}, {clock}"


async def sign_in(
    client: httpx.AsyncClient, email: str, password: str = PASSWORD
) -> httpx.Response:
    page = await client.get("/staff/login")
    return await client.post(
        "/staff/login",
        data={"email": email, "password": password, "csrf_token": csrf_of(page.text)},
    )


async def test_login_with_right_password_opens_the_dashboard(
    staff: Staff, client: httpx.AsyncClient
) -> None:
    response = await sign_in(client, "Urednica@MKLJ.si")
    assert response.status_code == 303
    assert response.headers["location"] == "/staff/"
    dashboard = await client.get("/staff/")
    assert dashboard.status_code == 200
    assert "Welcome, Ana Urednik" in dashboard.text
    assert (
        '<span lang="sl">Mestna knjižnica Ljubljana</span>'
        ' <span class="en" lang="en">(Ljubljana City Library)</span>'
    ) in dashboard.text
    assert "<td>editor</td>" in dashboard.text
    assert "Braka Miladinovci" not in dashboard.text


async def test_login_with_wrong_password_or_unknown_email_is_refused(
    staff: Staff, client: httpx.AsyncClient
) -> None:
    for email, password in (("urednica@mklj.si", "wrong"), ("nobody@mklj.si", PASSWORD)):
        response = await sign_in(client, email, password)
        assert response.status_code == 400
        assert "Wrong e-mail or password." in response.text
        assert f'value="{email}"' in response.text
    dashboard = await client.get("/staff/")
    assert dashboard.status_code == 303
    assert dashboard.headers["location"] == "/staff/login?next=%2Fstaff%2F"


async def test_login_returns_to_the_page_asked_for_and_logout_forgets_the_session(
    staff: Staff, client: httpx.AsyncClient
) -> None:
    asked = await client.get("/staff/events?kind=club")
    assert asked.status_code == 303
    assert asked.headers["location"] == "/staff/login?next=%2Fstaff%2Fevents%3Fkind%3Dclub"
    login_page = await client.get(asked.headers["location"])
    assert 'name="next" value="/staff/events?kind=club"' in login_page.text
    response = await client.post(
        "/staff/login",
        data={
            "email": "urednica@mklj.si",
            "password": PASSWORD,
            "next": "/staff/events?kind=club",
            "csrf_token": csrf_of(login_page.text),
        },
    )
    assert response.headers["location"] == "/staff/events?kind=club"
    events = await client.get("/staff/events")
    assert events.status_code == 200
    logout = await client.post("/staff/logout", data={"csrf_token": csrf_of(events.text)})
    assert logout.status_code == 303
    assert logout.headers["location"] == "/staff/login"
    assert (await client.get("/staff/events")).status_code == 303


async def test_signing_out_revokes_every_copy_of_the_session(
    staff: Staff, client: httpx.AsyncClient, app: Starlette
) -> None:
    await sign_in(client, "urednica@mklj.si")
    cookie = client.cookies["outreach_session"]
    # The same cookie in another browser (a shared computer, a stolen copy).
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=str(client.base_url)
    ) as copy:
        copy.cookies.set("outreach_session", cookie)
        report = "/api/reports/coverage?library=mkl&from=2025-01-01&to=2025-12-31"
        assert (await copy.get("/staff/")).status_code == 200
        assert (await copy.get(report)).status_code != 401
        events = await client.get("/staff/events")
        await client.post("/staff/logout", data={"csrf_token": csrf_of(events.text)})
        # The copy no longer signs anyone in: pages send it to the login, the API refuses it.
        page = await copy.get("/staff/")
        assert (page.status_code, page.headers["location"]) == (
            303,
            "/staff/login?next=%2Fstaff%2F",
        )
        assert (await copy.get(report)).status_code == 401
    # Signing in again works, with a new cookie.
    await sign_in(client, "urednica@mklj.si")
    assert (await client.get("/staff/")).status_code == 200
    assert client.cookies["outreach_session"] != cookie


async def test_login_refuses_redirects_to_other_sites(
    staff: Staff, client: httpx.AsyncClient
) -> None:
    page = await client.get("/staff/login")
    response = await client.post(
        "/staff/login",
        data={
            "email": "urednica@mklj.si",
            "password": PASSWORD,
            "next": "//evil.example/staff",
            "csrf_token": csrf_of(page.text),
        },
    )
    assert response.headers["location"] == "/staff/"


async def test_forms_without_the_csrf_token_are_refused(
    staff: Staff, client: httpx.AsyncClient
) -> None:
    page = await client.get("/staff/login")
    token = csrf_of(page.text)
    missing = await client.post(
        "/staff/login", data={"email": "urednica@mklj.si", "password": PASSWORD}
    )
    assert missing.status_code == 403
    assert "Form expired" in missing.text
    wrong = await client.post(
        "/staff/login",
        data={"email": "urednica@mklj.si", "password": PASSWORD, "csrf_token": token + "x"},
    )
    assert wrong.status_code == 403
    assert (await client.get("/staff/")).status_code == 303  # not signed in
    # Signing in renews the token: the one seen before no longer works.
    await sign_in(client, "urednica@mklj.si")
    stale = await client.post("/staff/logout", data={"csrf_token": token})
    assert stale.status_code == 403
    assert (await client.get("/staff/")).status_code == 200  # still signed in


# --- events ----------------------------------------------------------------------------

TZ = ZoneInfo("Europe/Ljubljana")


def local_day(offset_days: int) -> dt.date:
    """A date ``offset_days`` from today in the library's zone."""
    return dt.datetime.now(TZ).date() + dt.timedelta(days=offset_days)


def next_weekday(weekday: int, *, weeks_ahead: int = 1) -> dt.date:
    """A future date on ``weekday`` (0 = Monday), at least a week away."""
    today = local_day(0)
    return today + dt.timedelta(days=(weekday - today.weekday()) % 7 + 7 * weeks_ahead)


async def make_event(staff: Staff, **values: object) -> int:
    """An event created through the same service the pages and the API use."""
    payload: dict[str, object] = {
        "kind": "workshop",
        "title": {"sl": "Delavnica"},
        "start": f"{next_weekday(0)}T10:00:00",
        "end": f"{next_weekday(0)}T11:00:00",
        "room": staff.room.id,
        "status": "published",
    }
    payload.update(values)
    result = await service.create_event(staff.library, payload, user=staff.editor)
    return result.event.id


def form_fields(staff: Staff, **values: str | list[str]) -> dict[str, str | list[str]]:
    day = next_weekday(1).isoformat()
    fields: dict[str, str | list[str]] = {
        "kind": "storytime",
        "title_sl": "Pravljična ura",
        "title_en": "Story hour",
        "start_date": day,
        "start_time": "17:00",
        "end_date": day,
        "end_time": "18:00",
        "timezone": "Europe/Ljubljana",
        "repeat": "none",
        "branch": "center",
        "room": str(staff.room.id),
        "audiences": ["0-5", "families"],
        "languages": ["sl"],
        "format": "in_person",
        "visibility": "public",
        "status": "published",
    }
    fields.update(values)
    return fields


async def post_form(
    client: httpx.AsyncClient, url: str, fields: dict[str, str | list[str]]
) -> httpx.Response:
    page = await client.get(url if "/occurrence" not in url else url.rsplit("/", 1)[0])
    return await client.post(url, data={**fields, "csrf_token": csrf_of(page.text)})


async def test_event_list_filters_by_kind_and_goal(staff: Staff, client: httpx.AsyncClient) -> None:
    await make_event(staff, kind="club", title={"sl": "Bralni klub"})
    await make_event(
        staff,
        kind="storytime",
        title={"sl": "Pravljice"},
        start=f"{next_weekday(2)}T10:00:00",
        end=f"{next_weekday(2)}T11:00:00",
        tags=[{"goal": "A2"}],
    )
    other = await service.create_event(
        staff.other,
        {
            "kind": "club",
            "title": {"mk": "Клуб"},
            "start": "2027-01-05T10:00",
            "end": "2027-01-05T11:00",
        },
        user=staff.outsider,
    )
    await sign_in(client, "urednica@mklj.si")
    everything = await client.get("/staff/events")
    assert "2 events." in everything.text
    assert ">Bralni klub</a>" in everything.text
    assert ">Pravljice</a>" in everything.text
    assert f"/staff/events/{other.event.id}" not in everything.text
    assert f"<td>{_moment(next_weekday(2), '10:00')}</td>" in everything.text
    clubs = await client.get("/staff/events", params={"kind": "club"})
    assert "1 event." in clubs.text
    assert ">Bralni klub</a>" in clubs.text
    assert ">Pravljice</a>" not in clubs.text
    by_goal = await client.get("/staff/events", params={"goal": str(staff.goal_a2.id)})
    assert "1 event." in by_goal.text
    assert ">Pravljice</a>" in by_goal.text
    window = await client.get(
        "/staff/events",
        params={"from": next_weekday(2).isoformat(), "to": next_weekday(2).isoformat()},
    )
    assert "1 event." in window.text
    assert ">Pravljice</a>" in window.text
    bad = await client.get("/staff/events", params={"from": "yesterday", "kind": "party"})
    assert bad.status_code == 400
    assert "must be a date such as 2026-03-01" in bad.text
    assert "is not one of the choices" in bad.text


async def test_creating_an_event_through_the_form_stores_it_with_its_goals(
    staff: Staff, client: httpx.AsyncClient
) -> None:
    await sign_in(client, "urednica@mklj.si")
    form = await client.get("/staff/events/new")
    # One editable library: the form opens for it, goals grouped under their theme.
    assert "Mestna knjižnica Ljubljana" in form.text
    assert 'Bralna pismenost <span class="en" lang="en">/ Reading literacy</span>' in form.text
    assert 'value="goal:mkl-2024:A1"' in form.text
    fields = form_fields(
        staff,
        repeat="weekly",
        repeat_days=["TU", "TH"],
        repeat_count="6",
        tags=["goal:mkl-2024:A1", "goal:mkl-2024:A2", "value:mkl-2024:equality"],
        primary="goal:mkl-2024:A2",
        exdates="",
    )
    response = await client.post(
        "/staff/events/new?library=mkl", data={**fields, "csrf_token": csrf_of(form.text)}
    )
    assert response.status_code == 303, response.text
    event_id = int(response.headers["location"].rsplit("/", 1)[1])
    event = await Event.get(id=event_id).prefetch_related("tags__goal", "tags__value")
    assert event.title == {"sl": "Pravljična ura", "en": "Story hour"}
    assert event.rrule == "FREQ=WEEKLY;COUNT=6;BYDAY=TU,TH"
    assert event.room_id == staff.room.id  # type: ignore[attr-defined]
    tags = sorted(
        ((t.goal.code if t.goal else t.value.code), t.primary)  # type: ignore[union-attr]
        for t in event.tags
    )
    assert tags == [("A1", False), ("A2", True), ("equality", False)]
    assert await Occurrence.filter(event_id=event_id).count() == 6
    api = await client.get(f"/api/events/{event_id}")
    assert api.status_code == 200
    assert api.json()["tags"] == [
        {"goal": "A2", "strategy": "mkl-2024", "primary": True},
        {"goal": "A1", "strategy": "mkl-2024", "primary": False},
        {"value": "equality", "strategy": "mkl-2024", "primary": False},
    ]
    assert api.json()["audiences"] == ["0-5", "families"]
    detail = await client.get(response.headers["location"])
    assert "The event was created." in detail.text
    assert "<dt>Repeats</dt><dd>every week on Tuesdays and Thursdays, 6 times</dd>" in detail.text
    assert '<h1 class="status-published" lang="sl">Pravljična ura</h1>' in detail.text
    # The edit form shows the rule in the friendly picker again.
    edit = await client.get(f"/staff/events/{event_id}/edit")
    assert 'name="repeat" value="weekly" checked' in edit.text
    assert 'name="repeat_days" value="TH" checked' in edit.text
    assert 'name="tags" value="goal:mkl-2024:A2" checked' in edit.text
    assert 'name="primary" value="goal:mkl-2024:A2" checked' in edit.text


async def test_field_errors_are_shown_beside_the_fields_with_the_values_kept(
    staff: Staff, client: httpx.AsyncClient
) -> None:
    await sign_in(client, "urednica@mklj.si")
    fields = form_fields(staff, end_time="16:00", repeat="custom", rrule="FREQ=HOURLY")
    response = await post_form(client, "/staff/events/new?library=mkl", fields)
    assert response.status_code == 422
    assert '<span class="field-error" id="end-error">must be after start</span>' in response.text
    assert "FREQ=HOURLY is not allowed" in response.text
    assert 'value="Pravljična ura"' in response.text
    assert 'value="FREQ=HOURLY"' in response.text
    assert 'name="audiences" value="families" checked' in response.text
    assert await Event.all().count() == 0


async def test_a_conflict_is_shown_on_the_form_with_the_entered_values_kept(
    staff: Staff, client: httpx.AsyncClient
) -> None:
    day = next_weekday(1)
    taken = await make_event(
        staff, title={"sl": "Zasedena soba"}, start=f"{day}T16:30:00", end=f"{day}T17:30:00"
    )
    await sign_in(client, "urednica@mklj.si")
    fields = form_fields(staff, title_sl="Druga delavnica", title_en="")
    response = await post_form(client, "/staff/events/new?library=mkl", fields)
    assert response.status_code == 409
    assert "Double booking" in response.text
    # In the library's local time and the page's language, the room by its name.
    said = (
        "Room Pravljična soba is booked 16:30\u2009–\u200917:30 on"
        f" {_full(day)} by “Zasedena soba”."
    )
    assert (
        f'<li>{said} <a href="/staff/events/{taken}">Open “Zasedena soba”</a></li>'
    ) in response.text
    assert f'<span class="field-error conflict">{said}</span>' in response.text
    assert 'value="Druga delavnica"' in response.text
    assert f'<option value="{staff.room.id}" data-branch="center" selected>' in response.text
    assert await Event.all().count() == 1


async def test_events_outside_opening_hours_are_saved_with_a_warning(
    staff: Staff, client: httpx.AsyncClient
) -> None:
    await sign_in(client, "urednica@mklj.si")
    fields = form_fields(staff, start_time="19:00", end_time="21:00")
    response = await post_form(client, "/staff/events/new?library=mkl", fields)
    assert response.status_code == 303
    detail = await client.get(response.headers["location"])
    day = next_weekday(1)
    assert (
        '<p class="notice warning" role="status">1 of 1 occurrences falls outside the opening'
        f" hours of its branch: {_moment(day, '19:00')}</p>"
    ) in detail.text


async def test_editing_keeps_the_event_and_refuses_a_stale_revision(
    staff: Staff, client: httpx.AsyncClient
) -> None:
    event_id = await make_event(staff)
    await sign_in(client, "urednica@mklj.si")
    edit = await client.get(f"/staff/events/{event_id}/edit")
    assert 'name="revision" value="1"' in edit.text
    fields = form_fields(
        staff,
        kind="workshop",
        title_sl="Nova delavnica",
        start_date=next_weekday(0).isoformat(),
        start_time="10:00",
        end_date=next_weekday(0).isoformat(),
        end_time="11:30",
        revision="1",
    )
    saved = await client.post(
        f"/staff/events/{event_id}/edit", data={**fields, "csrf_token": csrf_of(edit.text)}
    )
    assert saved.status_code == 303
    event = await Event.get(id=event_id)
    assert event.title == {"sl": "Nova delavnica", "en": "Story hour"}
    assert event.revision == 2
    stale = await client.post(
        f"/staff/events/{event_id}/edit", data={**fields, "csrf_token": csrf_of(edit.text)}
    )
    assert stale.status_code == 409
    assert "the event is at revision 2, not 1" in stale.text
    assert (await Event.get(id=event_id)).revision == 2


def utc_z(instant: dt.datetime) -> str:
    return instant.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


async def test_one_occurrence_is_cancelled_or_moved_through_its_form(
    staff: Staff, client: httpx.AsyncClient
) -> None:
    monday = next_weekday(0)
    event_id = await make_event(
        staff,
        start=f"{monday}T10:00:00",
        end=f"{monday}T11:00:00",
        rrule="FREQ=WEEKLY;COUNT=3",
    )
    first, second, third = await Occurrence.filter(event_id=event_id).order_by("starts_at")
    await sign_in(client, "urednica@mklj.si")
    detail = await client.get(f"/staff/events/{event_id}")
    assert detail.text.count('value="cancel"') == 3
    token = csrf_of(detail.text)
    cancelled = await client.post(
        f"/staff/events/{event_id}/occurrence",
        data={
            "csrf_token": token,
            "original_start": utc_z(second.original_start),
            "action": "cancel",
            "note": "Knjižnica zaprta",
        },
    )
    assert cancelled.status_code == 303
    rows = await Occurrence.filter(event_id=event_id).order_by("starts_at")
    assert [row.cancelled for row in rows] == [False, True, False]
    shown = await client.get(f"/staff/events/{event_id}")
    second_day = monday + dt.timedelta(days=7)
    assert f"The occurrence of {_moment(second_day, '10:00')} was cancelled." in shown.text
    assert (
        '<input type="hidden" name="action" value="restore">\n        <button type="submit"'
        f' class="secondary">Restore {second_day:%b} {second_day.day}, {second_day.year}</button>'
    ) in shown.text

    third_day = monday + dt.timedelta(days=14)
    moved = await client.post(
        f"/staff/events/{event_id}/occurrence",
        data={
            "csrf_token": token,
            "original_start": utc_z(third.original_start),
            "action": "move",
            "current_start": f"{third_day}T10:00",
            "current_end": f"{third_day}T11:00",
            "current_room": str(staff.room.id),
            "start": f"{third_day}T12:00",
            "end": f"{third_day}T13:00",
            "room": str(staff.hall.id),
        },
    )
    assert moved.status_code == 303
    row = await Occurrence.get(event_id=event_id, original_start=third.original_start)
    assert row.starts_at == dt.datetime.combine(third_day, dt.time(12), tzinfo=TZ)
    assert row.room_id == staff.hall.id  # type: ignore[attr-defined]
    assert (await Event.get(id=event_id)).revision == 3
    shown = await client.get(f"/staff/events/{event_id}")
    assert f"moved from {_moment(third_day, '10:00')}" in shown.text

    refused = await client.post(
        f"/staff/events/{event_id}/occurrence",
        data={
            "csrf_token": token,
            "original_start": utc_z(first.original_start),
            "action": "move",
            "current_start": f"{monday}T10:00",
            "current_end": f"{monday}T11:00",
            "start": f"{monday}T10:00",
            "end": f"{monday}T09:00",
        },
    )
    assert refused.status_code == 422
    assert '<span class="field-error">must be after start</span>' in refused.text
    assert f'name="end" value="{monday}T09:00"' in refused.text


async def test_cancelling_the_whole_event_keeps_it_and_saving_it_keeps_it_cancelled(
    staff: Staff, client: httpx.AsyncClient
) -> None:
    event_id = await make_event(staff, rrule="FREQ=WEEKLY;COUNT=2")
    await sign_in(client, "urednica@mklj.si")
    detail = await client.get(f"/staff/events/{event_id}")
    asked = await client.post(
        f"/staff/events/{event_id}/cancel", data={"csrf_token": csrf_of(detail.text)}
    )
    # A series is cancelled only once confirmed: the first click asks, naming the count.
    assert asked.status_code == 200
    assert "This cancels all 2 of its coming occurrences." in asked.text
    assert await Event.filter(id=event_id, status=EventStatus.CANCELLED).count() == 0
    response = await client.post(
        f"/staff/events/{event_id}/cancel",
        data={"csrf_token": csrf_of(detail.text), "confirm": "yes"},
    )
    assert response.status_code == 303
    event = await Event.get(id=event_id)
    assert event.status == EventStatus.CANCELLED
    assert [o.cancelled for o in await Occurrence.filter(event_id=event_id)] == [True, True]
    edit = await client.get(f"/staff/events/{event_id}/edit")
    assert '<option value="cancelled" selected>cancelled (keep)</option>' in edit.text
    fields = form_fields(
        staff,
        kind="workshop",
        title_sl="Delavnica",
        title_en="",
        start_date=next_weekday(0).isoformat(),
        start_time="10:00",
        end_date=next_weekday(0).isoformat(),
        end_time="11:00",
        repeat="weekly",
        repeat_count="2",
        status="cancelled",
        revision="2",
    )
    saved = await client.post(
        f"/staff/events/{event_id}/edit", data={**fields, "csrf_token": csrf_of(edit.text)}
    )
    assert saved.status_code == 303, saved.text
    event = await Event.get(id=event_id)
    assert (event.status, event.revision) == (EventStatus.CANCELLED, 3)


async def test_moving_an_occurrence_into_a_taken_room_shows_the_conflict(
    staff: Staff, client: httpx.AsyncClient
) -> None:
    monday = next_weekday(0)
    await make_event(
        staff,
        title={"sl": "Predavanje"},
        room=staff.hall.id,
        start=f"{monday}T12:00:00",
        end=f"{monday}T13:00:00",
    )
    event_id = await make_event(staff, start=f"{monday}T10:00:00", end=f"{monday}T11:00:00")
    occurrence = await Occurrence.get(event_id=event_id)
    await sign_in(client, "urednica@mklj.si")
    detail = await client.get(f"/staff/events/{event_id}")
    response = await client.post(
        f"/staff/events/{event_id}/occurrence",
        data={
            "csrf_token": csrf_of(detail.text),
            "original_start": utc_z(occurrence.original_start),
            "action": "move",
            "current_start": f"{monday}T10:00",
            "current_end": f"{monday}T11:00",
            "current_room": str(staff.room.id),
            "start": f"{monday}T12:30",
            "end": f"{monday}T13:30",
            "room": str(staff.hall.id),
        },
    )
    assert response.status_code == 409
    assert "<strong>Double booking.</strong> Nothing was saved." in response.text
    assert (
        f"<br>Room Dvorana is booked 12:00\u2009–\u200913:00 on {_full(monday)} by “Predavanje”."
    ) in response.text
    assert f'name="start" value="{monday}T12:30"' in response.text
    row = await Occurrence.get(event_id=event_id)
    assert row.starts_at == occurrence.starts_at
    assert row.room_id == staff.room.id  # type: ignore[attr-defined]


async def test_attendance_is_recorded_for_a_past_occurrence_only(
    staff: Staff, client: httpx.AsyncClient
) -> None:
    start = local_day(-15)
    event_id = await make_event(
        staff, start=f"{start}T10:00:00", end=f"{start}T11:00:00", rrule="FREQ=WEEKLY;COUNT=4"
    )
    occurrences = await Occurrence.filter(event_id=event_id).order_by("starts_at")
    held, future = occurrences[1], occurrences[3]
    await sign_in(client, "urednica@mklj.si")
    detail = await client.get(f"/staff/events/{event_id}")
    assert detail.text.count("Record attendance</button>") == 3
    token = csrf_of(detail.text)
    recorded = await client.post(
        f"/staff/events/{event_id}/attendance",
        data={
            "csrf_token": token,
            "original_start": utc_z(held.original_start),
            "count_0-5_on_site": "12",
            "count_19+_on_site": "9",
            "count_19+_online": "3",
            "count_6-11_online": "",
        },
    )
    assert recorded.status_code == 303
    rows = await Attendance.filter(event_id=event_id).order_by("age_band", "mode")
    assert [(r.age_band.value, r.mode.value, r.count) for r in rows] == [
        ("0-5", "on_site", 12),
        ("19+", "on_site", 9),
        ("19+", "online", 3),
    ]
    shown = await client.get(f"/staff/events/{event_id}")
    assert "Attendance recorded: 24 in all." in shown.text
    assert 'name="count_0-5_on_site" min="0"' in shown.text
    assert 'aria-label="Ages 0–5, on site" value="12"' in shown.text

    negative = await client.post(
        f"/staff/events/{event_id}/attendance",
        data={
            "csrf_token": token,
            "original_start": utc_z(held.original_start),
            "count_0-5_on_site": "4",
            "count_12-18_on_site": "-2",
        },
    )
    assert negative.status_code == 422
    assert 'value="-2"><span class="field-error">must not be negative</span>' in negative.text
    ahead = await client.post(
        f"/staff/events/{event_id}/attendance",
        data={
            "csrf_token": token,
            "original_start": utc_z(future.original_start),
            "count_0-5_on_site": "4",
        },
    )
    assert ahead.status_code == 422
    assert "<li>the occurrence has not happened yet</li>" in ahead.text
    assert await Attendance.filter(event_id=event_id).count() == 3


async def test_a_director_reads_the_programme_but_cannot_change_it(
    staff: Staff, client: httpx.AsyncClient
) -> None:
    start = local_day(-8)
    event_id = await make_event(
        staff, start=f"{start}T10:00:00", end=f"{start}T11:00:00", rrule="FREQ=WEEKLY;COUNT=3"
    )
    held = await Occurrence.filter(event_id=event_id).order_by("starts_at").first()
    assert held is not None
    await sign_in(client, "direktor@mklj.si")
    detail = await client.get(f"/staff/events/{event_id}")
    assert detail.status_code == 200
    assert "Cancel or move" not in detail.text
    assert "Record attendance" not in detail.text
    assert "Edit event" not in detail.text
    new = await client.get("/staff/events/new")
    assert "You are not an editor in any library" in new.text
    refused = await client.post(
        f"/staff/events/{event_id}/attendance",
        data={
            "csrf_token": csrf_of(detail.text),
            "original_start": utc_z(held.original_start),
            "count_0-5_on_site": "5",
        },
    )
    assert refused.status_code == 403
    assert await Attendance.filter(event_id=event_id).count() == 0


async def test_pages_of_another_library_are_forbidden(
    staff: Staff, client: httpx.AsyncClient
) -> None:
    event_id = await make_event(staff)
    occurrence = await Occurrence.get(event_id=event_id)
    await sign_in(client, "editor@skopje.mk")
    dashboard = await client.get("/staff/")
    token = csrf_of(dashboard.text)
    # The event is public: its staff page sends them to its public page, nothing more.
    opened = await client.get(f"/staff/events/{event_id}")
    assert (opened.status_code, opened.headers["location"]) == (303, f"/mkl/events/{event_id}")
    for url in (
        f"/staff/events/{event_id}/edit",
        "/staff/events/new?library=mkl",
        "/staff/events?library=mkl",
    ):
        response = await client.get(url)
        assert response.status_code == 403, url
        assert "<h1>Not allowed</h1>" in response.text
    cancel = await client.post(
        f"/staff/events/{event_id}/occurrence",
        data={
            "csrf_token": token,
            "original_start": utc_z(occurrence.original_start),
            "action": "cancel",
        },
    )
    assert cancel.status_code == 403
    assert not (await Occurrence.get(event_id=event_id)).cancelled
    # Their own programme does not show the other library's events either.
    own = await client.get("/staff/events")
    assert "0 events." in own.text
    missing = await client.get("/staff/events/999999")
    assert missing.status_code == 404


async def test_the_programme_list_is_paginated(staff: Staff, client: httpx.AsyncClient) -> None:
    now = dt.datetime.now(dt.UTC)
    for number in range(PAGE_SIZE + 1):
        # Written directly: the list reads events, it does not need their occurrences.
        await Event.create(
            library=staff.library,
            kind="club",
            title={"sl": f"Klub {number:02d}"},
            starts_at=now + dt.timedelta(days=number),
            ends_at=now + dt.timedelta(days=number, hours=1),
            timezone="Europe/Ljubljana",
            updated_at=now,
        )
    await sign_in(client, "urednica@mklj.si")
    first = await client.get("/staff/events", params={"kind": "club"})
    assert f"{PAGE_SIZE + 1} events, page 1 of 2." in first.text
    assert ">Klub 00</a>" in first.text
    assert f">Klub {PAGE_SIZE:02d}</a>" not in first.text
    assert '<a href="/staff/events?kind=club&amp;page=2" rel="next">' in first.text
    second = await client.get("/staff/events", params={"kind": "club", "page": "2"})
    assert f">Klub {PAGE_SIZE:02d}</a>" in second.text
    assert ">Klub 00</a>" not in second.text
    assert '<a href="/staff/events?kind=club&amp;page=1" rel="prev">' in second.text


FORM_FIELDS = (
    "kind",
    "title_sl",
    "start_date",
    "start_time",
    "end_date",
    "end_time",
    "timezone",
    "repeat",
    "repeat_days",
    "repeat_until",
    "repeat_count",
    "rrule",
    "exdates",
    "room",
    "branch",
    "capacity",
    "place_name",
    "place_lat",
    "online_url",
    "staff",
    "tags",
    "primary",
    "status",
)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    changes=st.dictionaries(
        st.sampled_from(FORM_FIELDS),
        st.one_of(
            st.text(st.characters(codec="utf-8"), max_size=40),
            st.sampled_from(["weekly", "custom", "-1", "1e400", "nan", "2026-02-30", "99:99"]),
        ),
        max_size=6,
    )
)
async def test_random_form_input_never_gives_a_server_error(
    staff: Staff, client: httpx.AsyncClient, changes: dict[str, str]
) -> None:
    # Hypothesis runs every example with the same client: sign in for the first one.
    if "outreach_session" not in client.cookies:
        await sign_in(client, "urednica@mklj.si")
    response = await post_form(
        client, "/staff/events/new?library=mkl", {**form_fields(staff), **changes}
    )
    assert response.status_code in (303, 409, 422), response.text
