"""Held changes over real HTTP, where a library's directors approve every change: an
editor's change of one occurrence waits like a change of the event, later changes amend
the one held change, cancelling is never held, a stale or double-booking change is
refused at approval in words, and the editor may withdraw it. Notices go to the people
concerned in their language."""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from babel.dates import format_date, format_skeleton
from icalendar import Calendar

from outreach.models import (
    ApprovalDecision,
    ApprovalPolicy,
    ApprovalRequest,
    AuditEntry,
    Event,
    EventKind,
    EventStatus,
    Library,
    Notice,
    Occurrence,
    RoleName,
    Room,
    StaffUser,
    Visibility,
)
from outreach.scheduling import service
from outreach.scheduling.occurrences import rebuild_occurrences
from outreach.scheduling.serialise import utc_iso
from outreach.security import hash_published_password
from outreach.web.staff_forms import form_from_event
from tests.factories import make_branch, make_library, make_room, make_token, make_user
from tests.web.test_staff_pages import csrf_of, sign_in

TZ = ZoneInfo("Europe/Ljubljana")
PASSWORD = "correct horse battery staple"
PASSWORD_HASH = hash_published_password(PASSWORD)
# A moment in UTC as the API writes it: never on a page a person reads.
UTC_INSTANT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d)?Z")


class Kranj:
    """A library whose directors approve every change, its rooms, staff and a series."""

    library: Library
    hall: Room
    studio: Room
    editor: StaffUser
    director: StaffUser
    series: Event
    # The series' second and third Wednesdays, at 17:00 local time.
    second: dt.datetime
    third: dt.datetime


async def _person(email: str, role: RoleName, library: Library, language: str | None) -> StaffUser:
    user = await make_user(email, password=None, roles=[(role, library)])
    user.password_hash = PASSWORD_HASH
    user.language = language
    await user.save(update_fields=["password_hash", "language"])
    return user


async def _kranj() -> Kranj:
    k = Kranj()
    library = await make_library("kranj")
    await Library.filter(id=library.id).update(approval=ApprovalPolicy.ALL_CHANGES)
    k.library = await Library.get(id=library.id)
    branch = await make_branch(k.library, "center")
    k.hall = await make_room(branch, "dvorana")
    k.studio = await make_room(branch, "studio")
    # The editor reads English, the director the library's Slovenian.
    k.editor = await _person("urednica@kranj.si", RoleName.EDITOR, k.library, "en")
    k.director = await _person("direktor@kranj.si", RoleName.DIRECTOR, k.library, None)
    today = dt.datetime.now(TZ).date()
    wednesday = today + dt.timedelta(days=(2 - today.weekday()) % 7 + 7)
    first = dt.datetime.combine(wednesday, dt.time(17), tzinfo=TZ)
    k.second = (first + dt.timedelta(days=7)).astimezone(dt.UTC)
    k.third = (first + dt.timedelta(days=14)).astimezone(dt.UTC)
    k.series = await Event.create(
        library=k.library,
        kind=EventKind.READING,
        title={"sl": "Bralni klub", "en": "Reading club"},
        starts_at=first.astimezone(dt.UTC),
        ends_at=(first + dt.timedelta(hours=1)).astimezone(dt.UTC),
        timezone="Europe/Ljubljana",
        rrule="FREQ=WEEKLY;COUNT=6",
        branch=branch,
        room=k.hall,
        updated_at=first,
        visibility=Visibility.PUBLIC,
        status=EventStatus.PUBLISHED,
        approval="approved",
    )
    await rebuild_occurrences(k.series)
    return k


async def _bearer(user: StaffUser) -> dict[str, str]:
    return {"Authorization": f"Bearer {await make_token(user)}"}


async def _sign_in(client: httpx.AsyncClient, email: str) -> str:
    """Sign in on the staff pages; the session's CSRF token for the forms."""
    assert (await sign_in(client, email, PASSWORD)).status_code == 303
    return csrf_of((await client.get("/staff/")).text)


async def _held(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], headers: dict[str, str]
) -> dict[str, Any]:
    """PATCH ``path`` as an editor whose change waits: 200 with the approval request it
    waits in (``pending_approval``); the answer's body."""
    response = await client.patch(path, json=body, headers=headers)
    assert response.status_code == 200
    assert isinstance(response.json()["pending_approval"], int)
    return dict(response.json())


async def _written(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], headers: dict[str, str]
) -> None:
    """PATCH ``path`` as someone whose change is written at once: 200, nothing waits."""
    response = await client.patch(path, json=body, headers=headers)
    assert (response.status_code, "pending_approval" in response.json()) == (200, False)


async def _approve_on_page(client: httpx.AsyncClient, request_id: int, csrf: str) -> str:
    """A director approves on the approvals page, which the answer sends them back to
    (303); that page's text."""
    response = await client.post(
        f"/staff/approvals/{request_id}/approve", data={"comment": "", "csrf_token": csrf}
    )
    assert response.status_code == 303
    return (await client.get("/staff/approvals")).text


async def _studio_lecture(
    client: httpx.AsyncClient, k: Kranj, start: dt.datetime, headers: dict[str, str]
) -> int:
    """A published lecture in the studio for an hour from ``start``, by an approver; its id."""
    created = await client.post(
        "/api/events",
        json={
            "library": "kranj",
            "kind": "lecture",
            "title": {"sl": "Predavanje"},
            "start": _local(start),
            "end": _local(start, 1),
            "room": k.studio.id,
            "status": "published",
        },
        headers=headers,
    )
    assert created.status_code == 201
    return int(created.json()["id"])


def _refusal(page: str) -> list[str]:
    """The lines of the refusal a page shows: its lead, then each problem."""
    found = re.search(r'<div class="notice error" role="status">(.*?)</div>', page, re.S)
    assert found is not None
    return [html.unescape(line) for line in re.findall(r"<(?:p|li)>(.*?)</(?:p|li)>", found[1])]


def _local(instant: dt.datetime, hours: int = 0) -> str:
    return (instant.astimezone(TZ) + dt.timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%S")


async def _starts(event: Event) -> list[tuple[str, int | None]]:
    rows = await Occurrence.filter(event_id=event.id).order_by("original_start")
    return [(utc_iso(o.starts_at), o.room_id) for o in rows]  # type: ignore[attr-defined]


async def _feed_starts(client: httpx.AsyncClient) -> set[str]:
    feed = Calendar.from_ical((await client.get("/feeds/kranj.ics")).content)
    starts = set()
    for component in feed.walk("VEVENT"):
        if "RECURRENCE-ID" in component:
            starts.add(component.decoded("DTSTART").astimezone(dt.UTC).isoformat())
    return starts


async def test_a_moved_occurrence_waits_for_the_director_and_is_written_on_approval(
    db: str, client: httpx.AsyncClient
) -> None:
    k = await _kranj()
    editor = await _bearer(k.editor)
    director = await _bearer(k.director)
    before = await _starts(k.series)
    feed_before = await _feed_starts(client)
    path = f"/api/events/{k.series.id}/occurrences/{utc_iso(k.second)}"

    held = await _held(
        client,
        path,
        {"start": _local(k.second, 1), "end": _local(k.second, 2), "room": k.studio.id},
        editor,
    )
    request_id = held["pending_approval"]
    # The public sees the occurrence as it was: the table, the feed and the event's revision.
    assert await _starts(k.series) == before
    assert await _feed_starts(client) == feed_before
    assert held["revision"] == 1
    # A second change amends the one held change rather than queueing another.
    retitled = await _held(
        client,
        f"/api/events/{k.series.id}/occurrences/{utc_iso(k.third)}",
        {"title": {"sl": "Bralni klub: gost"}},
        editor,
    )
    assert retitled["pending_approval"] == request_id
    listed = (await client.get("/api/approvals?library=kranj", headers=director)).json()
    assert [(a["id"], a["kind"], a["decision"]) for a in listed["approvals"]] == [
        (request_id, "change", "pending")
    ]
    assert listed["approvals"][0]["occurrences"] == {
        utc_iso(k.second): {
            "start": utc_iso(k.second + dt.timedelta(hours=1)),
            "end": utc_iso(k.second + dt.timedelta(hours=2)),
            "room": k.studio.id,
        },
        utc_iso(k.third): {"title": {"sl": "Bralni klub: gost"}},
    }

    # The director's page says what changes, in Slovenian, local times and room names.
    csrf = await _sign_in(client, "direktor@kranj.si")
    queue = (await client.get("/staff/approvals")).text
    day = k.second.astimezone(TZ)
    assert f"{day.day}. " in queue
    assert "17:00–18:00" in queue
    assert "18:00–19:00" in queue
    assert "Dvorana" in queue
    assert "Studio" in queue
    assert "Bralni klub: gost" in queue
    assert not UTC_INSTANT.search(queue)
    assert f"room {k.studio.id}" not in queue

    # The studio is booked meanwhile: approving is refused, in words, and nothing written.
    admin = await _bearer(
        await make_user("admin@kranj.si", password=None, roles=[(RoleName.ADMIN, k.library)])
    )
    blocker = await _studio_lecture(client, k, k.second + dt.timedelta(hours=1), admin)
    shown = await _approve_on_page(client, request_id, csrf)
    moved = (k.second + dt.timedelta(hours=1)).astimezone(TZ)
    assert _refusal(shown) == [
        "Nič ni bilo odločeno:",
        f"Prostor Studio je zaseden 18:00–19:00, {format_date(moved, 'full', locale='sl')},"
        " za »Predavanje«.",
    ]
    assert await _starts(k.series) == before
    assert (await ApprovalRequest.get(id=request_id)).decision == ApprovalDecision.PENDING

    await client.delete(f"/api/events/{blocker}", headers=admin)
    approved = await _approve_on_page(client, request_id, csrf)
    assert "Odobreno: sprememba je objavljena." in approved
    after = await _starts(k.series)
    assert after[1] == (utc_iso(k.second + dt.timedelta(hours=1)), k.studio.id)
    assert (after[0], after[2:]) == (before[0], before[2:])
    assert (k.second + dt.timedelta(hours=1)).isoformat() in await _feed_starts(client)

    # Notices: the director was asked in Slovenian, the editor told in English.
    notices = [
        (n.recipient, n.template, n.language, n.subject)
        for n in await Notice.filter(template__startswith="approval").order_by("id")
    ]
    assert notices == [
        (
            "direktor@kranj.si",
            "approval_requested",
            "sl",
            "Prosim za odobritev spremembe: Bralni klub",
        ),
        ("urednica@kranj.si", "approval_decided", "en", "Approved: Reading club"),
    ]
    asked = await Notice.get(template="approval_requested")
    assert "Dvorana → Studio" in (asked.text or "")
    assert "17:00–18:00 → " in (asked.text or "")
    told = await Notice.get(template="approval_decided")
    assert "approved the change to “Reading club”: the public sees it now." in (told.text or "")
    assert "Dvorana → Studio" in (told.text or "")
    trail = [
        e.action
        for e in await AuditEntry.filter(entity="event", entity_id=str(k.series.id)).order_by("id")
    ]
    assert trail == [
        "submit_change",
        "amend_change",
        "change_occurrence",
        "change_occurrence",
        "approve",
    ]


async def test_cancelling_one_occurrence_is_written_at_once_and_drops_its_held_change(
    db: str, client: httpx.AsyncClient
) -> None:
    k = await _kranj()
    editor = await _bearer(k.editor)
    path = f"/api/events/{k.series.id}/occurrences/{utc_iso(k.second)}"
    held = await _held(
        client, path, {"start": _local(k.second, 1), "end": _local(k.second, 2)}, editor
    )
    request_id = held["pending_approval"]
    mixed = await client.patch(path, json={"cancelled": True, "room": k.studio.id}, headers=editor)
    assert mixed.status_code == 422
    assert mixed.json()["fields"]["cancelled"].startswith("cancel the occurrence on its own")
    await _written(client, path, {"cancelled": True, "note": "Bolezen."}, editor)
    row = await Occurrence.get(event_id=k.series.id, original_start=k.second)
    assert (row.cancelled, row.starts_at) == (True, k.second)
    # The held move of it is moot: nothing else was held, so the request is withdrawn.
    assert (await ApprovalRequest.get(id=request_id)).decision == ApprovalDecision.WITHDRAWN
    # Restoring it shows it to the public again: that waits.
    restored = await _held(client, path, {"cancelled": False}, editor)
    assert restored["pending_approval"] != request_id
    assert (await Occurrence.get(event_id=k.series.id, original_start=k.second)).cancelled


async def test_a_stale_held_change_is_refused_and_its_editor_withdraws_it(
    db: str, client: httpx.AsyncClient
) -> None:
    k = await _kranj()
    editor = await _bearer(k.editor)
    director = await _bearer(k.director)
    other = await _bearer(
        await make_user("drugi@kranj.si", password=None, roles=[(RoleName.EDITOR, k.library)])
    )
    path = f"/api/events/{k.series.id}/occurrences/{utc_iso(k.second)}"
    request_id = (await _held(client, path, {"room": k.studio.id}, editor))["pending_approval"]
    title = await _held(
        client, f"/api/events/{k.series.id}", {"title": {"sl": "Bralni klub za vse"}}, editor
    )
    assert title["pending_approval"] == request_id
    # An admin (who approves) moves the same occurrence: written at once, the held change
    # stale.
    admin = await _bearer(
        await make_user("admin@kranj.si", password=None, roles=[(RoleName.ADMIN, k.library)])
    )
    await _written(client, path, {"start": _local(k.second, 2), "end": _local(k.second, 3)}, admin)
    stale = await client.post(f"/api/approvals/{request_id}/approve", json={}, headers=director)
    assert stale.status_code == 409
    assert stale.json()["fields"]["revision"].startswith(
        "the event was changed after this was submitted (Occurrence of "
    )
    # On the director's page: the problem on a line of its own, in Slovenian.
    shown = await _approve_on_page(client, request_id, await _sign_in(client, "direktor@kranj.si"))
    day = format_skeleton("yMMMEd", k.second.astimezone(TZ), locale="sl")
    assert _refusal(shown) == [
        "Nič ni bilo odločeno:",
        f"dogodek je bil spremenjen, potem ko je bilo to oddano (Izvedba {day}, 17:00):"
        " vrnite ga, da ga urednik odda znova",
    ]
    assert (await Event.get(id=k.series.id)).title == {"sl": "Bralni klub", "en": "Reading club"}
    amend = await client.patch(path, json={"room": k.hall.id}, headers=editor)
    assert amend.status_code == 409
    assert "withdraw your held change and make it again" in amend.json()["fields"]["revision"]
    # Only an editor who made it withdraws it.
    assert (
        await client.post(f"/api/approvals/{request_id}/withdraw", json={}, headers=other)
    ).status_code == 403
    withdrawn = await client.post(f"/api/approvals/{request_id}/withdraw", json={}, headers=editor)
    assert (withdrawn.status_code, withdrawn.json()["decision"]) == (200, "withdrawn")
    again = await client.post(f"/api/approvals/{request_id}/approve", json={}, headers=director)
    assert (again.status_code, again.json()["fields"]) == (
        409,
        {"decision": "someone decided it already"},
    )
    # Starting again from the new version is a new held change.
    fresh = await _held(client, path, {"room": k.studio.id}, editor)
    assert fresh["pending_approval"] not in (None, request_id)


async def test_amending_keeps_only_what_differs_and_a_return_tells_the_editor(
    db: str, client: httpx.AsyncClient
) -> None:
    k = await _kranj()
    editor = await _bearer(k.editor)
    director = await _bearer(k.director)
    event = f"/api/events/{k.series.id}"
    request_id = (await _held(client, event, {"title": {"sl": "Bralni klub+"}}, editor))[
        "pending_approval"
    ]
    await _held(client, event, {"capacity": 12}, editor)
    # The title set back to what is published drops out of the held change.
    await _held(client, event, {"title": {"sl": "Bralni klub", "en": "Reading club"}}, editor)
    request = await ApprovalRequest.get(id=request_id)
    assert (request.changes, request.editors) == ({"capacity": 12}, [k.editor.id])
    # The edit form shows the editor the version their held change would publish.
    await _sign_in(client, "urednica@kranj.si")
    form = (await client.get(f"/staff/events/{k.series.id}/edit")).text
    assert re.search(r'name="capacity"[^>]*value="12"', form)
    page = (await client.get(f"/staff/events/{k.series.id}")).text
    assert "A change waits for a director" in page
    assert "Capacity" in page
    client.cookies.clear()

    returned = await client.post(
        f"/api/approvals/{request_id}/return", json={"comment": "Ne zdaj."}, headers=director
    )
    assert (returned.status_code, returned.json()["decision"]) == (200, "returned")
    assert (await Event.get(id=k.series.id)).capacity is None
    told = await Notice.get(template="approval_decided")
    assert (told.recipient, told.language, told.subject) == (
        "urednica@kranj.si",
        "en",
        "Returned: Reading club",
    )
    assert "the public still sees the event as it was" in (told.text or "")
    assert "Capacity: — → 12" in (told.text or "")
    assert "Ne zdaj." in (told.text or "")


async def test_the_event_form_holds_only_what_the_editor_changed(
    db: str, client: httpx.AsyncClient
) -> None:
    k = await _kranj()
    csrf = await _sign_in(client, "urednica@kranj.si")
    series = await service.load_event(k.series.id)
    form = {**form_from_event(series), "title_sl": ["Bralni klub ob sredah"], "csrf_token": [csrf]}
    saved = await client.post(f"/staff/events/{k.series.id}/edit", data=form)
    assert saved.status_code == 303
    request = await ApprovalRequest.get(event_id=k.series.id)
    assert request.changes == {"title": {"sl": "Bralni klub ob sredah", "en": "Reading club"}}
    page = (await client.get(f"/staff/events/{k.series.id}")).text
    assert "Your change waits for a director&#39;s approval; the event is unchanged." in page
    assert "Reading club → " not in page
    assert "Bralni klub ob sredah" in page
    # Saving the form again as it stands (the held version) changes nothing.
    again = {**form_from_event(series), "title_sl": ["Bralni klub ob sredah"], "csrf_token": [csrf]}
    await client.post(f"/staff/events/{k.series.id}/edit", data=again)
    assert await ApprovalRequest.filter(event_id=k.series.id).count() == 1
    assert (await ApprovalRequest.get(event_id=k.series.id)).amended_at is not None


async def test_a_held_change_that_double_books_is_refused_and_each_editor_hears_of_the_decision(
    db: str, client: httpx.AsyncClient
) -> None:
    k = await _kranj()
    editor = await _bearer(k.editor)
    second = await _person("drugi@kranj.si", RoleName.EDITOR, k.library, "fi")
    other = await _bearer(second)
    admin = await _bearer(await _person("admin@kranj.si", RoleName.ADMIN, k.library, "mk"))
    await _studio_lecture(client, k, k.third, admin)
    # Checked when held, not only when approved: the studio is taken then.
    refused = await client.patch(
        f"/api/events/{k.series.id}/occurrences/{utc_iso(k.third)}",
        json={"room": k.studio.id},
        headers=editor,
    )
    assert refused.status_code == 409
    assert [(c["resource"], c["resource_id"]) for c in refused.json()["conflicts"]] == [
        ("room", k.studio.id)
    ]
    assert await ApprovalRequest.filter(event_id=k.series.id).count() == 0

    path = f"/api/events/{k.series.id}/occurrences/{utc_iso(k.second)}"
    request_id = (await _held(client, path, {"room": k.studio.id}, editor))["pending_approval"]
    amended = await _held(
        client, path, {"start": _local(k.second, 1), "end": _local(k.second, 2)}, other
    )
    assert amended["pending_approval"] == request_id
    request = await ApprovalRequest.get(id=request_id)
    assert request.editors == [k.editor.id, second.id]
    assert request.occurrences == {
        utc_iso(k.second): {
            "room": k.studio.id,
            "start": utc_iso(k.second + dt.timedelta(hours=1)),
            "end": utc_iso(k.second + dt.timedelta(hours=2)),
        }
    }
    director = await _bearer(k.director)
    returned = await client.post(
        f"/api/approvals/{request_id}/return", json={"comment": "Raje ne."}, headers=director
    )
    assert returned.status_code == 200
    asked = [
        (n.recipient, n.language, n.subject)
        for n in await Notice.filter(template="approval_requested").order_by("id")
    ]
    # The director and the admin were asked once, when the change was first held.
    assert asked == [
        ("direktor@kranj.si", "sl", "Prosim za odobritev spremembe: Bralni klub"),
        ("admin@kranj.si", "mk", "Ве молиме одобрете измена: Bralni klub"),
    ]
    told = {
        n.recipient: (n.language, n.subject)
        for n in await Notice.filter(template="approval_decided")
    }
    assert told == {
        "urednica@kranj.si": ("en", "Returned: Reading club"),
        "drugi@kranj.si": ("fi", "Palautettu: Bralni klub"),
    }
    finnish = await Notice.get(recipient="drugi@kranj.si")
    assert "Dvorana → Studio" in (finnish.text or "")
    assert "17.00–18.00" in (finnish.text or "")
    assert (await Occurrence.get(event_id=k.series.id, original_start=k.second)).room_id == (  # type: ignore[attr-defined]
        k.hall.id
    )


async def test_an_editor_withdraws_a_submitted_draft_from_its_page(
    db: str, client: httpx.AsyncClient
) -> None:
    k = await _kranj()
    await Event.filter(id=k.series.id).update(status=EventStatus.DRAFT, approval="not_needed")
    csrf = await _sign_in(client, "urednica@kranj.si")
    page = f"/staff/events/{k.series.id}"
    await client.post(f"{page}/submit", data={"note": "", "csrf_token": csrf})
    shown = (await client.get(page)).text
    action = re.search(r'action="(/staff/approvals/\d+/withdraw)"', shown)
    assert action is not None
    withdrawn = await client.post(action.group(1), data={"csrf_token": csrf})
    assert (withdrawn.status_code, withdrawn.headers["location"]) == (303, page)
    shown = (await client.get(page)).text
    assert "Withdrawn: nothing of it is published." in shown
    assert "Withdrawn before a director decided." in shown
    assert f'action="{page}/submit"' in shown  # it may be submitted again
    event = await Event.get(id=k.series.id)
    assert (event.status, event.approval.value) == (EventStatus.DRAFT, "not_needed")
    await client.post(f"{page}/submit", data={"note": "Zdaj.", "csrf_token": csrf})
    resubmitted = await ApprovalRequest.get(event_id=k.series.id, decision="pending")
    client.cookies.clear()
    csrf = await _sign_in(client, "direktor@kranj.si")
    # Nobody but an editor who made it withdraws it.
    refused = await client.post(
        f"/staff/approvals/{resubmitted.id}/withdraw", data={"csrf_token": csrf}
    )
    assert refused.status_code == 403
    assert "Prošnjo lahko umakne le urednik, ki jo je oddal." in refused.text
    assert "Zdaj." in (await client.get("/staff/approvals")).text
    trail = [
        e.action
        for e in await AuditEntry.filter(entity="event", entity_id=str(k.series.id)).order_by("id")
    ]
    assert trail == ["submit", "withdraw", "submit"]


async def test_the_director_reads_a_held_change_of_the_series_in_words(
    db: str, client: httpx.AsyncClient
) -> None:
    k = await _kranj()
    editor = await _bearer(k.editor)
    first = k.series.starts_at
    await _held(
        client,
        f"/api/events/{k.series.id}",
        {
            "start": _local(first, 1),
            "end": _local(first, 2),
            "room": k.studio.id,
            "exdates": [_local(k.third, 1)[:10]],
            "rrule": "FREQ=WEEKLY;COUNT=8",
        },
        editor,
    )
    await _sign_in(client, "direktor@kranj.si")
    queue = (await client.get("/staff/approvals")).text
    rows = [
        re.sub(r"<[^>]+>", "|", row).strip("|").replace("||", "|")
        for row in re.findall(r'<tr><th scope="row">.*?</tr>', queue)
    ]
    day = first.astimezone(TZ).date()
    third = k.third.astimezone(TZ).date()
    months = {12: "dec.", 1: "jan.", 2: "feb."}
    weekday = "sre."
    assert rows == [
        f"Kdaj|{weekday}, {day.day}. {months[day.month]} {day.year}, 17:00–18:00"
        f"|{weekday}, {day.day}. {months[day.month]} {day.year}, 18:00–19:00",
        "Ponavljanje|vsako sredo, skupaj 6-krat|vsako sredo, skupaj 8-krat",
        f"Izvzeti datumi|—|{third.day}. {months[third.month]} {third.year}",
        "Prostor|Dvorana|Studio",
    ]
