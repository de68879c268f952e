"""Content codings of a feed: compressing its bytes once, and choosing one for a request.

A feed is answered many times per data version, so each coding is compressed once, the
first time a client asks for it, and kept beside the plain bytes in the feed cache; a
compressing middleware (such as ``starlette-compress``) would compress the same ~1 MB
again for every poll, and would leave the ETag of the plain bytes on the compressed ones.
Each representation has its own strong ETag, a digest of its own bytes.

Levels: gzip 9, brotli 9 and zstd 12 each cost a few to a few tens of milliseconds on a
1 MB feed; brotli 10 and 11 and zstd 19 save a little more for tens of times the CPU.
All three are deterministic for the same library version, so every process writes the
same bytes (gzip's header carries no time and no file name).
"""

from __future__ import annotations

import gzip
import hashlib
import re
from dataclasses import dataclass

import brotli
import zstandard

IDENTITY = "identity"
# The server's preference when a client accepts several alike (equal q): smallest first.
CODINGS = ("br", "zstd", "gzip")
_LEVEL = {"gzip": 9, "br": 9, "zstd": 12}
_ITEM = re.compile(
    r"^\s*([A-Za-z0-9!#$%&'*+.^_`|~-]+)\s*(?:;\s*q\s*=\s*(0(?:\.\d{0,3})?|1(?:\.0{0,3})?))?\s*$"
)


def compress(body: bytes, coding: str) -> bytes:
    """``body`` in ``coding`` (one of :data:`CODINGS`)."""
    if coding == "gzip":
        return gzip.compress(body, compresslevel=_LEVEL["gzip"], mtime=0)
    if coding == "br":
        compressed: bytes = brotli.compress(body, quality=_LEVEL["br"])
        return compressed
    if coding == "zstd":
        return zstandard.ZstdCompressor(level=_LEVEL["zstd"]).compress(body)
    raise ValueError(f"unknown content coding {coding!r}")


def strong_etag(body: bytes) -> str:
    """A strong ETag over exactly these bytes."""
    return '"' + hashlib.sha256(body).hexdigest()[:40] + '"'


@dataclass(frozen=True)
class Representation:
    """One coding of a feed: the bytes sent, their ETag, and the Content-Encoding."""

    body: bytes
    etag: str
    coding: str = IDENTITY


def accepted(header: str | None) -> dict[str, float]:
    """The q-value of each coding an ``Accept-Encoding`` header names (RFC 9110 §12.5.3),
    ``*`` included; malformed items are left out."""
    found: dict[str, float] = {}
    if header is None:
        return found
    for item in header.split(","):
        if not item.strip():
            continue
        match = _ITEM.match(item)
        if match is None:
            continue
        name = match.group(1).lower()
        quality = float(match.group(2)) if match.group(2) is not None else 1.0
        found[name] = min(quality, found.get(name, quality))
    return found


def negotiate(header: str | None) -> str:
    """The coding to send for ``Accept-Encoding: header``: the acceptable coding with the
    highest q, ties broken by :data:`CODINGS`' order (``*`` stands for any coding not
    named), else ``identity``.

    No header means any coding is acceptable, but a client that says nothing may not
    decode one, so it gets the plain bytes (as RFC 9110 advises). Identity is sent even
    when a client refuses it and accepts nothing else we have: a 406 would only leave a
    calendar without its feed.
    """
    qualities = accepted(header)
    if not qualities:
        return IDENTITY
    anything = qualities.get("*")
    best, best_q = IDENTITY, 0.0
    for coding in CODINGS:
        quality = qualities.get(coding, anything if anything is not None else 0.0)
        if quality > best_q:
            best, best_q = coding, quality
    # Identity is acceptable unless excluded, but where the client does not weigh it, any
    # compressed coding it accepts is taken to be preferred; a stated q decides.
    identity_q = qualities.get(IDENTITY)
    if best_q == 0.0 or (identity_q is not None and identity_q > best_q):
        return IDENTITY
    return best
