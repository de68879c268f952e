"""Who is asking: a bearer token (scripts) or a session (staff pages), and their roles."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable

from starlette.requests import Request

from outreach.models import ApiToken, Library, Role, RoleName, StaffUser
from outreach.security import hash_token
from outreach.web import csrf
from outreach.web.errors import ApiError

# Recording every use of a token would make each API read a write; once a minute is enough.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)
_STATE_KEY = "outreach_user"
# Who writes a library's events, routes, partners and outreach services, and who reads
# their staff side: a director reads (and approves) but does not write.
EDITORS = (RoleName.EDITOR, RoleName.ADMIN)
READERS = (RoleName.EDITOR, RoleName.DIRECTOR, RoleName.ADMIN)


async def _from_token(secret: str) -> StaffUser | None:
    token = (
        await ApiToken.filter(token_hash=hash_token(secret), revoked_at__isnull=True)
        .prefetch_related("user")
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    now = dt.datetime.now(dt.UTC)
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        await ApiToken.filter(id=token.id).update(last_used_at=now)
    return token.user


async def authenticate(request: Request) -> StaffUser | None:
    """The staff user behind a bearer token or the session, or None.

    A request that presents an ``Authorization`` header is judged by it alone: a bad
    token never falls back to a session cookie.
    """
    if hasattr(request.state, _STATE_KEY):
        cached: StaffUser | None = getattr(request.state, _STATE_KEY)
        return cached
    user: StaffUser | None = None
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, secret = header.partition(" ")
        if scheme.lower() == "bearer" and secret.strip():
            user = await _from_token(secret.strip())
    elif "session" in request.scope:
        user_id = request.session.get("user_id")
        # Sessions issued before epochs existed count as epoch 0.
        epoch = request.session.get("epoch", 0)
        if isinstance(user_id, int) and isinstance(epoch, int):
            _check_api_csrf(request)
            user = await StaffUser.filter(id=user_id, is_active=True, session_epoch=epoch).first()
    setattr(request.state, _STATE_KEY, user)
    return user


def _check_api_csrf(request: Request) -> None:
    """A browser session may write through the API only with the session's CSRF token.

    Staff pages check their forms themselves (``csrf.protect``); this covers scripts in a
    signed-in browser calling ``/api`` with the cookie, which another site could forge.
    """
    if request.method in csrf.SAFE_METHODS or not request.url.path.startswith("/api/"):
        return
    expected = request.session.get(csrf.SESSION_KEY)
    sent = request.headers.get(csrf.HEADER, "")
    if not (
        isinstance(expected, str)
        and expected
        and secrets.compare_digest(expected.encode(), sent.encode())
    ):
        raise ApiError(
            403,
            "a signed-in browser must send the X-CSRF-Token header with API writes",
            fields={"X-CSRF-Token": "missing or wrong"},
        )


async def require_user(request: Request) -> StaffUser:
    """The signed-in user, or 401."""
    user = await authenticate(request)
    if user is None:
        raise ApiError(401, "authentication required")
    return user


async def has_library_role(user: StaffUser, library_id: int, roles: Iterable[RoleName]) -> bool:
    """Whether ``user`` holds one of ``roles`` in a library.

    Admins imply editor and director; a network coordinator reads (as a director) every
    library of their network.
    """
    wanted = set(roles)
    held = {r.role for r in await Role.filter(user_id=user.id, library_id=library_id)}
    if held & wanted:
        return True
    if RoleName.ADMIN in held and wanted & {RoleName.EDITOR, RoleName.DIRECTOR}:
        return True
    if wanted & {RoleName.DIRECTOR, RoleName.COORDINATOR}:
        library = await Library.get_or_none(id=library_id)
        network_id = library.network_id if library is not None else None  # type: ignore[attr-defined]
        if network_id is not None:
            return await Role.filter(
                user_id=user.id, network_id=network_id, role=RoleName.COORDINATOR
            ).exists()
    return False


async def may_approve(user: StaffUser, library_id: int) -> bool:
    """Whether ``user`` approves events in a library: its director or admin. A network
    coordinator reads as a director but approves nothing."""
    return await Role.filter(
        user_id=user.id, library_id=library_id, role__in=[RoleName.DIRECTOR, RoleName.ADMIN]
    ).exists()


async def require_library_role(
    request: Request, library_id: int, roles: Iterable[RoleName]
) -> StaffUser:
    """The signed-in user if they hold one of ``roles`` in the library: else 401 or 403."""
    user = await require_user(request)
    if not await has_library_role(user, library_id, roles):
        raise ApiError(403, "forbidden: you have no such role in this library")
    return user
