"""Registration over HTTP: the public API and its refusals, the signed links, staff
check-in feeding attendance, and the patron's pages in their language."""

from __future__ import annotations

import datetime as dt
import re

import httpx
from starlette.applications import Starlette

from outreach.app import create_app
from outreach.models import Attendance, Notice, Registration, RegistrationStatus
from outreach.registration import links
from outreach.settings import Settings
from tests.registration.conftest import STARTS, Workshop, worker_for
from tests.registration.smtp import SmtpServer

RECEIVED = {
    "message": "Thank you. We have sent a message to the address you gave: it says whether"
    " you have a place or are on the waiting list, and holds your link to change or cancel."
}


def body(email: str, party: int = 1, **extra: object) -> dict[str, object]:
    return {
        "original_start": STARTS[1].isoformat().replace("+00:00", "Z"),
        "name": "Ana",
        "email": email,
        "party_size": party,
        "consent": True,
        **extra,
    }


def token_of(text: str) -> str:
    found = re.search(r"/mkl/registrations/([A-Za-z0-9._-]+)", text)
    assert found is not None, text
    return found.group(1)


async def test_register_get_mail_cancel_and_the_next_is_promoted_and_told(
    workshop: Workshop, client: httpx.AsyncClient, smtp: SmtpServer
) -> None:
    url = f"/api/events/{workshop.event.id}/registrations"
    english = {"Accept-Language": "en"}
    for i in range(5):
        answer = await client.post(url, json=body(f"p{i}@example.org", 4), headers=english)
        assert (answer.status_code, answer.json()) == (202, RECEIVED)
    again = await client.post(url, json=body("p0@example.org", 4), headers=english)
    assert (again.status_code, again.json()) == (202, RECEIVED)
    waiting = await client.post(url, json=body("wait@example.org", 2, language="fi"))
    assert waiting.status_code == 202
    worker = worker_for(smtp)
    await worker.run_once()
    mails = await smtp.wait_for(7)
    first = next(m for m in mails if m["To"] == "p0@example.org")
    text = first.get_body(("plain",))
    assert text is not None
    token = token_of(text.get_content())

    mine = await client.get(f"/api/registrations/{token}")
    assert mine.status_code == 200
    assert mine.json()["status"] == "confirmed"
    assert mine.headers["cache-control"] == "no-store"
    cancelled = await client.delete(f"/api/registrations/{token}")
    assert cancelled.json()["status"] == "cancelled"

    await worker.run_once()
    mails = await smtp.wait_for(9)
    promoted = [m for m in mails if m["To"] == "wait@example.org"]
    assert [m["Subject"] for m in promoted] == [
        "Olet jonossa tapahtumaan Delavnica robotike",
        "Paikka vapautui: olet ilmoittautunut tapahtumaan Delavnica robotike",
    ]
    assert promoted[1]["Content-Language"] == "fi"
    assert [a.get_filename() for a in promoted[1].iter_attachments()] == ["event.ics"]
    assert await Registration.filter(status=RegistrationStatus.CONFIRMED).count() == 5


async def test_bad_input_is_refused_by_name_and_nothing_is_written_or_sent(
    workshop: Workshop, client: httpx.AsyncClient
) -> None:
    url = f"/api/events/{workshop.event.id}/registrations"
    malformed = await client.post(url, json=body("ana@example"))
    assert malformed.status_code == 422
    assert malformed.json()["fields"] == {
        "email": "must be an email address such as ana@example.org"
    }
    no_consent = await client.post(url, json=body("ana@example.org", consent=False))
    assert no_consent.json()["fields"] == {"consent": "must be given to register"}
    bands = await client.post(url, json=body("ana@example.org", 2, age_bands={"0-5": 1}))
    assert bands.json()["fields"] == {"age_bands": "must add up to the party size (2)"}
    too_many = await client.post(url, json=body("ana@example.org", 5))
    assert (too_many.status_code, too_many.json()["fields"]) == (
        422,
        {"party_size": "at most 4 people may register together"},
    )
    not_a_date = await client.post(
        url, json=body("ana@example.org", original_start="2027-03-29T08:00:00Z")
    )
    assert not_a_date.json()["fields"] == {"original_start": "is not a date of this event"}
    missing = await client.post("/api/events/999999/registrations", json=body("a@example.org"))
    assert missing.status_code == 404
    assert await Registration.all().count() == 0
    assert await Notice.all().count() == 0


async def test_forged_and_expired_links_open_nothing(
    workshop: Workshop, client: httpx.AsyncClient, settings: Settings
) -> None:
    url = f"/api/events/{workshop.event.id}/registrations"
    await client.post(url, json=body("ana@example.org"))
    registration = await Registration.get()
    assert registration.secret is not None
    past = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    expired = links.sign(settings.secret_key, registration.id, registration.secret, past)
    forged = links.sign("another key", registration.id, registration.secret, STARTS[2])
    guessed = links.sign(settings.secret_key, registration.id, "guessed", STARTS[2])

    gone = await client.get(f"/api/registrations/{expired}")
    assert (gone.status_code, gone.json()) == (
        410,
        {"error": "this link has expired", "fields": {"token": "has expired"}},
    )
    for token in (forged, guessed, "nonsense"):
        refused = await client.delete(f"/api/registrations/{token}")
        assert (refused.status_code, refused.json()["fields"]) == (
            404,
            {"token": "is not a valid link"},
        )
    assert (await Registration.get()).status == RegistrationStatus.CONFIRMED


async def test_the_public_form_is_rate_limited_per_address(
    workshop: Workshop, settings: Settings
) -> None:
    app: Starlette = create_app(
        Settings(
            database_url=settings.database_url,
            secret_key=settings.secret_key,
            base_url=settings.base_url,
            registration_rate=2,
        ),
        manage_database=False,
    )
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 5000))
    async with httpx.AsyncClient(transport=transport, base_url=settings.base_url) as client:
        url = f"/api/events/{workshop.event.id}/registrations"
        answers = [
            (await client.post(url, json=body(f"p{i}@example.org"))).status_code for i in range(3)
        ]
        refused = await client.post(url, json=body("p9@example.org"))
    assert answers == [202, 202, 429]
    assert int(refused.headers["retry-after"]) > 0
    assert await Registration.all().count() == 2


async def test_check_in_through_the_api_feeds_the_attendance_counts(
    workshop: Workshop, client: httpx.AsyncClient
) -> None:
    url = f"/api/events/{workshop.event.id}/registrations"
    await client.post(url, json=body("mama@example.org", 3, age_bands={"0-5": 2, "19+": 1}))
    registration = await Registration.get()
    early = await client.post(
        f"/api/registrations/{registration.id}/check-in",
        json={"status": "attended"},
        headers=workshop.auth(),
    )
    assert (early.status_code, early.json()["fields"]) == (
        409,
        {"status": "the occurrence is not today yet"},
    )
    anonymous = await client.post(
        f"/api/registrations/{registration.id}/check-in", json={"status": "attended"}
    )
    assert anonymous.status_code == 401
    listing = await client.get(
        url, headers=workshop.auth(), params={"original_start": "2027-03-28T08:00:00Z"}
    )
    assert listing.status_code == 200
    assert listing.json()["places"] == {
        "original_start": "2027-03-28T08:00:00Z",
        "capacity": 20,
        "confirmed": 3,
        "waitlisted": 0,
        "left": 17,
        "open": True,
        "reason": None,
    }
    assert await Attendance.all().count() == 0


async def test_the_form_speaks_the_page_language_and_says_what_is_kept(
    workshop: Workshop, client: httpx.AsyncClient
) -> None:
    event = workshop.event.id
    kept = {
        "sl": ("Prijava", "izbrisani pa so 30 dni po dogodku"),
        "fi": ("Ilmoittautuminen", "ne poistetaan 30 päivää tapahtuman jälkeen"),
        "mk": ("Пријава", "се бришат 30 дена по настанот"),
    }
    for lang, (words, consent) in kept.items():
        event_page = await client.get(f"/mkl/events/{event}", params={"lang": lang})
        assert f"/mkl/events/{event}/register?lang={lang}" in event_page.text
        page = await client.get(f"/mkl/events/{event}/register", params={"lang": lang})
        assert page.status_code == 200
        assert words in page.text
        assert 'name="website"' in page.text
        assert consent in page.text


_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


async def test_erasing_ones_data_asks_first_and_needs_the_pages_token(
    workshop: Workshop, client: httpx.AsyncClient, settings: Settings
) -> None:
    await client.post(
        f"/api/events/{workshop.event.id}/registrations", json=body("ana@example.org")
    )
    registration = await Registration.get()
    assert registration.secret is not None
    token = links.sign(settings.secret_key, registration.id, registration.secret, STARTS[2])
    path = f"/mkl/registrations/{token}"
    page = await client.get(path, params={"lang": "sl"})
    assert page.status_code == 200
    found = _CSRF.findall(page.text)
    assert len(found) == 3  # change, cancel, erase
    csrf = found[0]

    asked = await client.post(path, data={"action": "erase", "csrf_token": csrf})
    assert asked.status_code == 200
    assert "<h1>Izbrisati vaše podatke?</h1>" in asked.text
    assert "<li>vaše ime ali psevdonim: Ana</li>" in asked.text
    assert "<li>vaš e-poštni naslov: ana@example.org</li>" in asked.text
    assert '<input type="hidden" name="confirm" value="yes">' in asked.text
    assert f'<a href="{path}">Ne, obdrži mojo prijavo</a>' in asked.text
    kept = await Registration.get(id=registration.id)
    assert (kept.name, kept.email, kept.status) == (
        "Ana",
        "ana@example.org",
        RegistrationStatus.CONFIRMED,
    )

    # Without the page's token (a form posted from another site) nothing happens.
    forged = await client.post(path, data={"action": "erase", "confirm": "yes"})
    assert forged.status_code == 403
    assert "Nič ni bilo spremenjeno" in forged.text
    assert (await Registration.get(id=registration.id)).email == "ana@example.org"

    erased = await client.post(path, data={"action": "erase", "confirm": "yes", "csrf_token": csrf})
    assert erased.status_code == 200
    assert "Vaše ime in naslov sta izbrisana." in erased.text
    gone = await Registration.get(id=registration.id)
    assert (gone.name, gone.email, gone.status) == (None, None, RegistrationStatus.CANCELLED)
