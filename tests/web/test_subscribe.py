"""The subscribe box: the feed's https:// address on the address asked for, its webcal://
twin, the address to copy, and a QR code named for screen readers."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from outreach.i18n import speaking
from outreach.settings import PROJECT_ROOT, Settings
from outreach.web.subscribe import qr_svg, subscribe_box
from outreach.web.templating import make_templates


def _app() -> Starlette:
    templates = make_templates(PROJECT_ROOT / "templates")

    async def page(request: Request) -> Response:
        box = subscribe_box(request, "/feeds/kranj.ics?kind=workshop")
        return templates.TemplateResponse(
            request, "public/_subscribe.html", {"subscribe": box, "subscribe_title": "Kranj"}
        )

    app = Starlette(routes=[Route("/", page)])
    app.state.settings = Settings(database_url="sqlite://:memory:", secret_key="k")
    return app


async def test_the_box_links_the_feed_on_the_address_asked_for() -> None:
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8104") as client:
        html = (await client.get("/")).text
    feed = "http://127.0.0.1:8104/feeds/kranj.ics?kind=workshop"
    assert 'href="webcal://127.0.0.1:8104/feeds/kranj.ics?kind=workshop"' in html
    assert f'href="{feed}" rel="nofollow" type="text/calendar"' in html
    assert f'readonly value="{feed}"' in html
    assert "<h2 id=" in html
    assert ">Subscribe: Kranj</h2>" in html
    assert f'<svg role="img" aria-label="QR code of the calendar address {feed}"' in html


def test_the_qr_code_is_named_in_the_page_language() -> None:
    with speaking("sl"):
        svg = str(qr_svg("https://a.example/feeds/kranj.ics"))
    assert svg.startswith('<svg role="img" aria-label="')
    assert "QR code of" not in svg
    assert "https://a.example/feeds/kranj.ics" in svg
