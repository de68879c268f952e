"""The staff workspace over real HTTP: navigation by role, approvals, the private feed."""

from __future__ import annotations

import datetime as dt
import io
import re
from zoneinfo import ZoneInfo

import httpx
from icalendar import Calendar
from starlette.types import Message, Receive, Scope, Send

from outreach.models import (
    ApiToken,
    ApprovalPolicy,
    AuditEntry,
    Event,
    EventKind,
    EventStatus,
    Library,
    Network,
    Notice,
    RoleName,
    StaffUser,
    Visibility,
)
from outreach.scheduling.occurrences import rebuild_occurrences
from outreach.security import hash_published_password, hash_token
from outreach.web.serving import AccessLog
from tests.factories import make_branch, make_library, make_token, make_user

PASSWORD = "correct horse battery staple"
PASSWORD_HASH = hash_published_password(PASSWORD)
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
TZ = ZoneInfo("Europe/Ljubljana")
# The address shown once, on the tests' BASE_URL.
FEED_URL = re.compile(
    r'id="feed-url" value="https://outreach\.example\.org(/staff/calendar/otk_[^"]+\.ics)"'
)


async def _person(email: str, roles: list[tuple[RoleName, Library | Network]]) -> StaffUser:
    user = await make_user(email, password=None, roles=roles)
    user.password_hash = PASSWORD_HASH
    await user.save(update_fields=["password_hash"])
    return user


async def _sign_in(client: httpx.AsyncClient, email: str) -> str:
    """Signs in by the form; the CSRF token of the dashboard it lands on."""
    page = await client.get("/staff/login")
    token = _TOKEN.search(page.text)
    assert token is not None
    response = await client.post(
        "/staff/login", data={"email": email, "password": PASSWORD, "csrf_token": token.group(1)}
    )
    assert response.status_code == 303
    dashboard = await client.get("/staff/")
    found = _TOKEN.search(dashboard.text)
    assert found is not None
    return found.group(1)


def _nav(html: str) -> list[str]:
    nav = re.search(r'<nav aria-label="[^"]+">(.*?)</nav>', html, re.S)
    assert nav is not None
    return re.findall(r'href="([^"]+)"', nav.group(1))


async def _library() -> tuple[Network, Library]:
    network = await Network.create(
        slug="gorenjska", name={"sl": "Gorenjska"}, default_language="sl"
    )
    library = await make_library("kranj", network=network)
    await Library.filter(id=library.id).update(approval=ApprovalPolicy.NEW_EVENTS)
    await make_branch(library, "center")
    return network, await Library.get(id=library.id)


def _form(title: str, status: str) -> dict[str, str]:
    day = (dt.datetime.now(TZ) + dt.timedelta(days=10)).date().isoformat()
    return {
        "kind": "reading",
        "title_sl": title,
        "start_date": day,
        "start_time": "17:00",
        "end_date": day,
        "end_time": "18:00",
        "timezone": "Europe/Ljubljana",
        "repeat": "none",
        "branch": "center",
        "format": "in_person",
        "visibility": "public",
        "status": status,
        "languages": "sl",
    }


async def test_the_header_offers_each_role_only_what_it_may_do(
    db: str, client: httpx.AsyncClient
) -> None:
    network, library = await _library()
    await _person("urednica@kranj.si", [(RoleName.EDITOR, library)])
    await _person("direktor@kranj.si", [(RoleName.DIRECTOR, library)])
    await _person("koordinatorka@gorenjska.si", [(RoleName.COORDINATOR, network)])
    await _person("admin@kranj.si", [(RoleName.ADMIN, library)])
    seen = {}
    for email in (
        "urednica@kranj.si",
        "direktor@kranj.si",
        "koordinatorka@gorenjska.si",
        "admin@kranj.si",
    ):
        await _sign_in(client, email)
        seen[email.split("@")[0]] = _nav((await client.get("/staff/")).text)
        client.cookies.clear()
    assert seen == {
        "urednica": [
            "/staff/events",
            "/staff/events/new",
            "/staff/bookmobile",
            "/staff/rooms/requests",
            "/staff/partners",
            "/staff/outreach",
            "/staff/feed",
        ],
        # A director who is no editor is offered no new event.
        "direktor": [
            "/staff/events",
            "/staff/approvals",
            "/staff/bookmobile",
            "/staff/reports/coverage",
            "/staff/rooms/requests",
            "/staff/feed",
        ],
        "koordinatorka": [
            "/staff/events",
            "/staff/reports/coverage?network=gorenjska",
            "/staff/feed",
        ],
        "admin": [
            "/staff/events",
            "/staff/events/new",
            "/staff/approvals",
            "/staff/bookmobile",
            "/staff/reports/coverage",
            "/staff/rooms/requests",
            "/staff/partners",
            "/staff/outreach",
            "/staff/users",
            "/staff/feed",
        ],
    }


async def test_an_editor_submits_and_a_director_returns_then_approves(
    db: str, client: httpx.AsyncClient
) -> None:
    _, library = await _library()
    editor = await _person("urednica@kranj.si", [(RoleName.EDITOR, library)])
    director = await _person("direktor@kranj.si", [(RoleName.DIRECTOR, library)])
    csrf = await _sign_in(client, "urednica@kranj.si")
    # Publishing needs a director here: the form says so beside the status.
    refused = await client.post(
        "/staff/events/new?library=kranj",
        data={**_form("Pravljična ura", "published"), "csrf_token": csrf},
    )
    assert refused.status_code == 422
    assert "objave v tej knjižnici odobri direktor" in refused.text
    created = await client.post(
        "/staff/events/new?library=kranj",
        data={**_form("Pravljična ura", "draft"), "csrf_token": csrf},
    )
    assert created.status_code == 303
    event_url = created.headers["location"]
    page = await client.get(event_url)
    # The pages speak the library's language (Slovenian) unless asked for another.
    assert "Oddaj v odobritev" in page.text
    submitted = await client.post(
        f"{event_url}/submit", data={"note": "Prosim za objavo.", "csrf_token": csrf}
    )
    assert submitted.status_code == 303
    assert "Oddano v odobritev; čaka na direktorja." in (await client.get(event_url)).text
    assert (await client.get("/kranj/events")).text.count("Pravljična ura") == 0
    # The editor may not decide.
    assert (await client.get("/staff/approvals")).status_code == 403
    client.cookies.clear()

    csrf = await _sign_in(client, "direktor@kranj.si")
    queue = (await client.get("/staff/approvals")).text
    assert "Osnutek za objavo" in queue
    assert "Prosim za objavo." in queue
    action = re.search(r'action="(/staff/approvals/\d+)/return"', queue)
    assert action is not None
    empty = await client.post(
        f"{action.group(1)}/return", data={"comment": " ", "csrf_token": csrf}
    )
    assert empty.status_code == 303
    # Each problem on a line of its own, after its field's name in the page's language.
    assert (
        "<p>Nič ni bilo odločeno:</p><ul><li>Pripomba: napišite, kaj naj se spremeni, preden"
        " je dogodek lahko objavljen</li></ul>"
    ) in (await client.get("/staff/approvals")).text
    back = await client.post(
        f"{action.group(1)}/return", data={"comment": "Dodaj opis.", "csrf_token": csrf}
    )
    assert back.status_code == 303
    client.cookies.clear()

    csrf = await _sign_in(client, "urednica@kranj.si")
    assert "Direktor je vrnil: Dodaj opis." in (await client.get(event_url)).text
    await client.post(f"{event_url}/submit", data={"note": "", "csrf_token": csrf})
    client.cookies.clear()

    csrf = await _sign_in(client, "direktor@kranj.si")
    queue = (await client.get("/staff/approvals")).text
    action = re.search(r'action="(/staff/approvals/\d+)/approve"', queue)
    assert action is not None
    approved = await client.post(
        f"{action.group(1)}/approve", data={"comment": "", "csrf_token": csrf}
    )
    assert approved.status_code == 303
    event = await Event.get(id=int(event_url.rsplit("/", 1)[1]))
    assert (event.status, event.approval.value, event.published_at is not None) == (
        EventStatus.PUBLISHED,
        "approved",
        True,
    )
    assert "Pravljična ura" in (await client.get("/kranj/events")).text
    # Each person concerned was owed an e-mail in their language (Slovenian, the library's).
    notices = [
        (n.recipient, n.template, n.subject)
        for n in await Notice.filter(template__startswith="approval").order_by("id")
    ]
    assert notices == [
        ("direktor@kranj.si", "approval_requested", "Prosim za odobritev: Pravljična ura"),
        ("urednica@kranj.si", "approval_decided", "Vrnjeno: Pravljična ura"),
        ("direktor@kranj.si", "approval_requested", "Prosim za odobritev: Pravljična ura"),
        ("urednica@kranj.si", "approval_decided", "Odobreno: Pravljična ura"),
    ]
    returned = await Notice.filter(subject="Vrnjeno: Pravljična ura").first()
    assert returned is not None
    assert "Dodaj opis." in (returned.text or "")
    assert "https://outreach.example.org/staff/events/" in (returned.text or "")
    trail = [
        (e.action, e.user_id, e.changes.get("comment"))  # type: ignore[attr-defined]
        for e in await AuditEntry.filter(entity="event", entity_id=str(event.id)).order_by("id")
    ]
    assert trail == [
        ("create", editor.id, None),
        ("submit", editor.id, "Prosim za objavo."),
        ("return", director.id, "Dodaj opis."),
        ("submit", editor.id, ""),
        ("update", director.id, None),
        ("approve", director.id, ""),
    ]


async def _event(
    library: Library,
    title: str,
    *,
    visibility: Visibility = Visibility.PUBLIC,
    status: EventStatus = EventStatus.PUBLISHED,
) -> Event:
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=3)
    event = await Event.create(
        library=library,
        kind=EventKind.STAFF_TRAINING,
        title={"sl": title},
        starts_at=start,
        ends_at=start + dt.timedelta(hours=2),
        timezone="Europe/Ljubljana",
        updated_at=start,
        visibility=visibility,
        status=status,
    )
    await rebuild_occurrences(event)
    return event


async def test_a_private_feed_opens_only_with_its_secret(
    db: str, client: httpx.AsyncClient
) -> None:
    _, library = await _library()
    other = await make_library("skopje")
    await _person("urednica@kranj.si", [(RoleName.EDITOR, library)])
    user = await StaffUser.get(email="urednica@kranj.si")
    assigned = await _event(other, "Assigned elsewhere")
    await assigned.staff.add(user)
    internal = await _event(library, "Internal training", visibility=Visibility.INTERNAL)
    await _event(other, "Not mine", visibility=Visibility.INTERNAL)
    await _event(
        library, "A draft of ours", visibility=Visibility.INTERNAL, status=EventStatus.DRAFT
    )
    public_before = (await client.get("/feeds/kranj.ics")).content

    csrf = await _sign_in(client, "urednica@kranj.si")
    made = await client.post("/staff/feed", data={"action": "issue", "csrf_token": csrf})
    url = FEED_URL.search(made.text)
    assert url is not None
    # Shown once: the page afterwards names only the beginning of the secret.
    assert url.group(1) not in (await client.get("/staff/feed")).text
    client.cookies.clear()

    feed = await client.get(url.group(1))
    assert (feed.status_code, feed.headers["cache-control"]) == (200, "private, no-store")
    titles = sorted(str(e["SUMMARY"]) for e in Calendar.from_ical(feed.content).walk("VEVENT"))
    assert titles == ["Assigned elsewhere", "Internal training"]
    assert (await client.get("/feeds/kranj.ics")).content == public_before
    assert internal.id not in {e.id for e in await Event.filter(visibility=Visibility.PUBLIC)}
    wrong = url.group(1).replace(".ics", "x.ics")
    assert (await client.get(wrong)).status_code == 404

    csrf = await _sign_in(client, "urednica@kranj.si")
    again = await client.post("/staff/feed", data={"action": "issue", "csrf_token": csrf})
    assert "prikazan samo tokrat" in again.text
    assert (await client.get(url.group(1))).status_code == 404  # the old one is dead
    new = FEED_URL.search(again.text)
    assert new is not None
    await client.post("/staff/feed", data={"action": "revoke", "csrf_token": csrf})
    assert (await client.get(new.group(1))).status_code == 404


async def test_an_admin_revokes_a_token_and_it_stops_working(
    db: str, client: httpx.AsyncClient
) -> None:
    _, library = await _library()
    other = await make_library("skopje")
    await _person("admin@kranj.si", [(RoleName.ADMIN, library)])
    script = await make_user("skripta@kranj.si", password=None, roles=[(RoleName.EDITOR, library)])
    secret = await make_token(script)
    stranger = await make_token(
        await make_user("tuj@skopje.mk", password=None, roles=[(RoleName.EDITOR, other)])
    )
    bearer = {"Authorization": f"Bearer {secret}"}
    assert (await client.get("/api/approvals?library=kranj", headers=bearer)).status_code == 200

    csrf = await _sign_in(client, "admin@kranj.si")
    page = (await client.get("/staff/users")).text
    assert "skripta@kranj.si" in page
    assert "tuj@skopje.mk" not in page  # not on this library's staff
    action = re.search(r'action="(/staff/tokens/\d+/revoke)"', page)
    assert action is not None
    revoked = await client.post(action.group(1), data={"csrf_token": csrf})
    assert revoked.status_code == 303
    assert "Žeton »test« je preklican." in (await client.get("/staff/users")).text
    assert (await client.get("/api/approvals?library=kranj", headers=bearer)).status_code == 401
    # Another library's token is not this admin's to revoke.
    theirs = await ApiToken.get(token_hash=hash_token(stranger))
    refused = await client.post(f"/staff/tokens/{theirs.id}/revoke", data={"csrf_token": csrf})
    assert refused.status_code == 404
    assert (await ApiToken.get(id=theirs.id)).revoked_at is None
    entry = await AuditEntry.get(action="revoke_token")
    assert (entry.entity, entry.changes["user"]) == ("api_token", script.id)


async def test_the_access_log_never_holds_a_feed_secret() -> None:
    stream = io.StringIO()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b"Not found\n"})

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        del message

    log = AccessLog(app, stream=stream)
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/staff/calendar/otk_SECRET123.ics",
        "query_string": b"",
        "client": ("192.0.2.7", 50000),
    }
    await log(scope, receive, send)
    log.flush()
    assert stream.getvalue().split()[:6] == [
        "192.0.2.7",
        "-",
        "GET",
        "/staff/calendar/[secret].ics",
        "404",
        "10",
    ]


async def test_a_held_change_is_written_only_when_a_director_approves_it(
    db: str, client: httpx.AsyncClient
) -> None:
    _, library = await _library()
    await Library.filter(id=library.id).update(approval=ApprovalPolicy.ALL_CHANGES)
    editor = {
        "Authorization": "Bearer "
        + await make_token(
            await make_user("u@kranj.si", password=None, roles=[(RoleName.EDITOR, library)])
        )
    }
    director = {
        "Authorization": "Bearer "
        + await make_token(
            await make_user("d@kranj.si", password=None, roles=[(RoleName.DIRECTOR, library)])
        )
    }
    event = await _event(library, "Bralni klub", visibility=Visibility.PUBLIC)
    await Event.filter(id=event.id).update(approval="approved")

    held = await client.patch(
        f"/api/events/{event.id}", json={"title": {"sl": "Bralni klub za odrasle"}}, headers=editor
    )
    assert held.status_code == 200
    assert (held.json()["title"], held.json()["revision"]) == ({"sl": "Bralni klub"}, 1)
    first = held.json()["pending_approval"]
    # The editor may not decide; the director approves and the change is written.
    refused = await client.post(f"/api/approvals/{first}/approve", json={}, headers=editor)
    assert refused.status_code == 403
    approved = await client.post(
        f"/api/approvals/{first}/approve", json={"comment": "V redu."}, headers=director
    )
    assert (approved.status_code, approved.json()["decision"]) == (200, "approved")
    stored = await Event.get(id=event.id)
    assert (stored.title, stored.revision, stored.approval.value) == (
        {"sl": "Bralni klub za odrasle"},
        2,
        "approved",
    )
    # A change submitted before the event changed again is refused, not written over it.
    second = (
        await client.patch(f"/api/events/{event.id}", json={"capacity": 12}, headers=editor)
    ).json()["pending_approval"]
    admin = {
        "Authorization": "Bearer "
        + await make_token(
            await make_user("a@kranj.si", password=None, roles=[(RoleName.ADMIN, library)])
        )
    }
    # An admin edits and approves, so their change is written at once.
    written = await client.patch(f"/api/events/{event.id}", json={"capacity": 30}, headers=admin)
    assert (written.status_code, "pending_approval" in written.json()) == (200, False)
    stale = await client.post(f"/api/approvals/{second}/approve", json={}, headers=director)
    assert stale.status_code == 409
    assert stale.json()["fields"]["revision"].startswith("the event was changed after")
    assert (await Event.get(id=event.id)).capacity == 30
    twice = await client.post(
        f"/api/approvals/{first}/return", json={"comment": "x"}, headers=director
    )
    assert (twice.status_code, twice.json()["fields"]) == (
        409,
        {"decision": "someone decided it already"},
    )
