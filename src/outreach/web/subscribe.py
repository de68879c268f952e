"""The subscribe box beside every feed a page offers: the https:// address, its webcal://
twin (some Outlooks drop webcal, so both), the address to copy and a QR code of it for a
poster in the branch. Pages render it with ``{% include "public/_subscribe.html" %}``."""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from html import escape

import segno
from markupsafe import Markup
from starlette.requests import Request

from outreach.i18n import gettext as _
from outreach.web.links import absolute_url, webcal_url


@dataclass(frozen=True)
class SubscribeBox:
    """What ``public/_subscribe.html`` shows for one feed."""

    https: str
    webcal: str
    qr: Markup
    # Distinguishes the ids of two boxes on one page (a stop's feed beside its route's).
    key: str


@functools.lru_cache(maxsize=512)
def _qr_svg(url: str, label: str) -> str:
    # Error correction M survives a creased or smudged poster; dark on white scans best.
    code = segno.make(url, error="m", micro=False)
    svg: str = code.svg_inline(scale=3, dark="#000", light="#fff", title=label, omitsize=False)
    return svg.replace("<svg ", f'<svg role="img" aria-label="{escape(label)}" ', 1)


def qr_svg(url: str) -> Markup:
    """``url`` as an inline SVG QR code, named for screen readers in the page's language."""
    return Markup(_qr_svg(url, _("QR code of the calendar address %(url)s", url=url)))


def subscribe_box(request: Request, feed_path: str) -> SubscribeBox:
    """The box for the feed at ``feed_path`` (``/feeds/kranj.ics?kind=workshop``)."""
    https = absolute_url(request, feed_path)
    key = hashlib.blake2b(feed_path.encode(), digest_size=4).hexdigest()
    return SubscribeBox(https=https, webcal=webcal_url(https), qr=qr_svg(https), key=key)
