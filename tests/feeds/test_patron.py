"""Patron pages: what the programme lists, and an event with schema.org data (the programme's
filters, views and subscribe box: tests/web/test_programme.py)."""

from __future__ import annotations

import json
import re

import httpx

from tests.feeds.conftest import LJUBLJANA, Programme


async def test_programme_lists_only_public_coming_occurrences(
    programme: Programme, feeds_client: httpx.AsyncClient
) -> None:
    page = (await feeds_client.get("/ljubljana/events")).text
    for hidden in ("Osnutek delavnice", "Interno izobraževanje", "Bežigrad", "A lecture elsewhere"):
        assert hidden not in page
    # Past occurrences are not "coming": the whole 2026 programme of these tests is over
    # or almost over, so only what is still ahead appears.
    for link in re.findall(r'href="/ljubljana/events/(\d+)"', page):
        assert int(link) in {e.id for e in programme.events.values()}


async def test_event_page_with_json_ld(
    programme: Programme, feeds_client: httpx.AsyncClient
) -> None:
    event = programme.events["exhibition"]
    response = await feeds_client.get(f"/skopje/events/{event.id}")
    assert response.status_code == 200
    match = re.search(
        r'<script type="application/ld\+json">(.*?)</script>', response.text, flags=re.S
    )
    assert match is not None
    data = json.loads(match.group(1))
    # The exhibition is over: no coming dates, so an empty graph of events.
    assert data == {"@context": "https://schema.org", "@graph": []}
    assert "Изложба: Македонски народни приказни" in response.text


async def test_event_page_hides_what_is_not_public(
    programme: Programme, feeds_client: httpx.AsyncClient
) -> None:
    for key in ("draft", "internal"):
        response = await feeds_client.get(f"/ljubljana/events/{programme.events[key].id}")
        assert response.status_code == 404
        assert response.json() == {"error": "event not found"}
    # An event of another library is not found under this one.
    other = programme.events["exhibition"].id
    assert (await feeds_client.get(f"/ljubljana/events/{other}")).status_code == 404
    assert (await feeds_client.get("/ljubljana/events/abc")).status_code == 404


async def test_coming_event_page_and_listing(
    programme: Programme, feeds_client: httpx.AsyncClient
) -> None:
    event = programme.events["coming"]
    listing = (await feeds_client.get("/ljubljana/events")).text
    assert f'href="/ljubljana/events/{event.id}"' in listing
    assert "Srečanje z avtorico &lt;Nike&gt; &amp; prijatelji" in listing
    assert "18:00" in listing

    page = (await feeds_client.get(f"/ljubljana/events/{event.id}")).text
    match = re.search(r'<script type="application/ld\+json">(.*?)</script>', page, flags=re.S)
    assert match is not None
    assert "<Nike>" not in match.group(1)  # escaped inside the script element
    data = json.loads(match.group(1))
    start = event.starts_at.astimezone(LJUBLJANA)
    end = event.ends_at.astimezone(LJUBLJANA)
    assert data == {
        "@context": "https://schema.org",
        "@type": "Event",
        "name": "Srečanje z avtorico <Nike> & prijatelji",
        "description": "Pogovor o novi knjigi.",
        "url": f"https://outreach.example.org/ljubljana/events/{event.id}",
        "startDate": start.isoformat(),
        "endDate": end.isoformat(),
        "eventStatus": "https://schema.org/EventScheduled",
        "eventAttendanceMode": "https://schema.org/OfflineEventAttendanceMode",
        "isAccessibleForFree": True,
        "inLanguage": ["sl"],
        "audience": {"@type": "Audience", "audienceType": "Odrasli"},
        "location": {
            "@type": "Place",
            "name": "Knjižnica Otona Župančiča",
            "address": {
                "@type": "PostalAddress",
                "streetAddress": "Kersnikova ulica 2",
                "postalCode": "1000",
                "addressLocality": "Ljubljana",
            },
            "geo": {"@type": "GeoCoordinates", "latitude": 46.053, "longitude": 14.504},
        },
        "organizer": {
            "@type": "Organization",
            "name": "Mestna knjižnica Ljubljana",
            "url": "https://outreach.example.org/ljubljana/",
        },
    }
    assert start.hour == 18
