"""The language a page is written in: ``?lang=``, then the cookie the language switch sets,
then ``Accept-Language``, then the library's default (DESIGN.md, Languages)."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlencode

from babel import Locale
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from outreach import i18n

COOKIE = "outreach_lang"
COOKIE_MAX_AGE = 365 * 24 * 3600


def _accepted(header: str) -> list[str]:
    """``Accept-Language`` as language tags, most wanted first (``q=0`` left out)."""
    weighted: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag and quality > 0:
            weighted.append((-quality, index, tag.strip()))
    return [tag for _, _, tag in sorted(weighted)]


def requested(request: Request) -> str | None:
    """The interface language the reader asked for, if any (query, then cookie, then
    browser), without the library's default."""
    for asked in (request.query_params.get("lang"), request.cookies.get(COOKIE)):
        chosen = i18n.interface_language(asked)
        if chosen:
            return chosen
    tags = _accepted(request.headers.get("accept-language", ""))
    if tags:
        found = Locale.negotiate(tags, list(i18n.INTERFACE_LANGUAGES), sep="-")
        if found is not None:
            return found.language
    return None


def negotiate(request: Request, *, default: str, offered: Sequence[str] = ()) -> str:
    """Choose the page's language and write in it for the rest of the request.

    ``offered``: the languages a library offers; a browser's wish outside them still wins
    when it is one of the interface's languages, since the interface speaks it.
    """
    del offered  # every interface language is served; content falls back (languages.py)
    chosen = requested(request) or i18n.interface_language(default) or i18n.SOURCE_LANGUAGE
    i18n.use(chosen)
    request.state.language = chosen
    return chosen


class RememberLanguage:
    """Sets the language cookie when a page is asked for with a valid ``?lang=``: the
    language switch is a link, and the choice holds on the next page."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # Each request starts in the source language, and a page's language ends with it:
        # where requests share one context (an in-process client, a reused task), an API
        # answer after a Slovenian page would otherwise be worded in Slovenian.
        with i18n.speaking(i18n.SOURCE_LANGUAGE):
            await self._remembering(scope, receive, send)

    async def _remembering(self, scope: Scope, receive: Receive, send: Send) -> None:
        chosen = i18n.interface_language(Request(scope).query_params.get("lang"))
        if chosen is None:
            await self.app(scope, receive, send)
            return

        async def remember(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                content_type = next((v for k, v in headers if k.lower() == b"content-type"), b"")
                if content_type.startswith(b"text/html"):
                    cookie = f"{COOKIE}={chosen}; Path=/; Max-Age={COOKIE_MAX_AGE}; SameSite=Lax"
                    headers.append((b"set-cookie", cookie.encode("latin-1")))
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, remember)


def switch_links(request: Request) -> list[dict[str, str | bool]]:
    """The language switch: each interface language named in itself, linking to this
    page with the same query and ``?lang=`` (the cookie then keeps the choice)."""
    current = i18n.current()
    links: list[dict[str, str | bool]] = []
    for lang in i18n.INTERFACE_LANGUAGES:
        query = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
        query.append(("lang", lang))
        links.append(
            {
                "lang": lang,
                "name": i18n.language_name(lang),
                "url": f"{request.url.path}?{urlencode(query)}",
                "current": lang == current,
            }
        )
    return links
