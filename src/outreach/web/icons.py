"""The site's icon: ``/favicon.svg`` linked from the base templates, ``/favicon.ico`` for
browsers and tools that ask for it without reading a page.

Both are read once when the module loads and served from memory with a day's cache: an icon
is asked for on every page, and answering it needs neither the database nor the disk.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

STATIC_DIR = Path(__file__).resolve().parents[1] / "static"
CACHE_CONTROL = "public, max-age=86400"

_ICONS: dict[str, tuple[bytes, str]] = {
    "favicon.svg": ((STATIC_DIR / "favicon.svg").read_bytes(), "image/svg+xml"),
    "favicon.ico": ((STATIC_DIR / "favicon.ico").read_bytes(), "image/x-icon"),
}


def _icon(name: str) -> Route:
    body, media_type = _ICONS[name]

    async def endpoint(request: Request) -> Response:
        return Response(body, media_type=media_type, headers={"Cache-Control": CACHE_CONTROL})

    return Route(f"/{name}", endpoint, methods=["GET", "HEAD"], name=name.replace(".", "_"))


routes: list[BaseRoute] = [_icon(name) for name in _ICONS]
