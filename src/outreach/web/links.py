"""Absolute links on pages: BASE_URL when it is set, otherwise the address the request
came to (host and port as the browser sent them, https where the request was https).

Behind a reverse proxy the request arrives from the proxy, as plain http, for whatever
host the proxy chose; ``X-Forwarded-Proto`` and ``X-Forwarded-Host`` then say what the
browser asked for. They are believed only from the peers listed in
``OUTREACH_TRUSTED_PROXIES``: anyone else could send them to plant links to another site.
"""

from __future__ import annotations

import re

from starlette.requests import Request

from outreach.settings import Settings

# A host name or an IP literal, with an optional port: nothing that could end the
# address early or smuggle a path, a user or markup into a link.
_HOST = re.compile(
    r"(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*"
    r"|\[[0-9a-f:.]+\])(?::[0-9]{1,5})?"
)
_DEFAULT_PORTS = {"http": ":80", "https": ":443"}


def _first(header: str | None) -> str:
    """The first value of a header that proxies append to (the one nearest the browser)."""
    return (header or "").split(",", 1)[0].strip().lower()


def origin(request: Request) -> str:
    """``scheme://host[:port]`` of the address the page was asked for, without a slash."""
    settings: Settings = request.app.state.settings
    if settings.base_url_fixed:
        return settings.base_url
    scheme = request.url.scheme
    host = request.headers.get("host", "").strip().lower()
    peer = request.client.host if request.client is not None else None
    if peer is not None and peer in settings.trusted_proxies:
        proto = _first(request.headers.get("x-forwarded-proto"))
        if proto in _DEFAULT_PORTS:
            scheme = proto
        host = _first(request.headers.get("x-forwarded-host")) or host
    if scheme not in _DEFAULT_PORTS or not _HOST.fullmatch(host):
        return settings.base_url
    return f"{scheme}://{host.removesuffix(_DEFAULT_PORTS[scheme])}"


def absolute_url(request: Request, path: str) -> str:
    """The absolute address of ``path`` (which starts with ``/``, query included)."""
    return origin(request) + path


def webcal_url(url: str) -> str:
    """The ``webcal://`` twin of an http(s) feed address (calendar apps open it)."""
    return "webcal://" + url.split("://", 1)[-1]
