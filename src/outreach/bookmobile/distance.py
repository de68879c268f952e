"""Driving distances: great-circle distance times a detour factor, or an OSRM service.

The default needs nothing outside the process. When ``OUTREACH_ROUTING_URL`` names an
OSRM-compatible service, distances come from its ``route`` and ``table`` services; any
failure (timeout, HTTP error, an answer that is not what OSRM sends) falls back to the
default, and the result carries a note that says so.
"""

from __future__ import annotations

import asyncio
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import httpx

from outreach.i18n import format_decimal
from outreach.i18n import gettext as _

EARTH_RADIUS_KM = 6371.0088
DEFAULT_DETOUR_FACTOR = 1.3
DEFAULT_TIMEOUT_SECONDS = 5.0
# A road between two points of one region is never this much longer than the straight
# line; an answer beyond it is nonsense, not a road.
MAX_PLAUSIBLE_DETOUR = 10.0
MAX_POINTS = 100

Point = tuple[float, float]  # (lat, lon)


class RoutingError(Exception):
    """The routing service failed or answered something unusable; the message says how."""


def haversine_km(a: Point, b: Point) -> float:
    """Great-circle distance between two (lat, lon) points in kilometres."""
    lat1, lon1 = math.radians(a[0]), math.radians(a[1])
    lat2, lon2 = math.radians(b[0]), math.radians(b[1])
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def path_km(points: Sequence[Point], *, detour_factor: float = DEFAULT_DETOUR_FACTOR) -> float:
    """Great-circle length of a path through ``points`` in order, times the detour factor."""
    return detour_factor * sum(haversine_km(a, b) for a, b in itertools.pairwise(points))


def matrix_km(
    points: Sequence[Point], *, detour_factor: float = DEFAULT_DETOUR_FACTOR
) -> list[list[float]]:
    """Great-circle distances between every pair of points, times the detour factor."""
    return [[detour_factor * haversine_km(a, b) for b in points] for a in points]


@dataclass
class Distances:
    """Distances for a set of points, with where they came from and any note."""

    matrix: list[list[float]]
    source: str
    notes: list[str] = field(default_factory=list)

    def path_km(self, order: Sequence[int]) -> float:
        """Length of the path visiting the points with these indexes in order."""
        return sum(self.matrix[a][b] for a, b in itertools.pairwise(order))


class RoutingClient:
    """An OSRM-compatible routing service reached with httpx.

    ``transport`` is injectable so that tests can serve a fake service in-process.
    """

    def __init__(
        self,
        base_url: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        profile: str = "driving",
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.transport = transport
        self.timeout = timeout
        self.profile = profile

    @staticmethod
    def _coordinates(points: Sequence[Point]) -> str:
        # OSRM wants lon,lat pairs separated by semicolons.
        return ";".join(f"{lon:.6f},{lat:.6f}" for lat, lon in points)

    async def _get(self, path: str, params: dict[str, str]) -> dict[str, object]:
        try:
            # httpx's timeouts bound each network operation; the deadline bounds the whole
            # exchange, however the transport behaves (a trickling answer, an in-process app).
            async with (
                asyncio.timeout(self.timeout),
                httpx.AsyncClient(
                    transport=self.transport, timeout=httpx.Timeout(self.timeout)
                ) as client,
            ):
                response = await client.get(f"{self.base_url}{path}", params=params)
        except (TimeoutError, httpx.TimeoutException) as exc:
            raise RoutingError(
                _("timed out after %(seconds)s s", seconds=format(self.timeout, "g"))
            ) from exc
        except httpx.HTTPError as exc:
            raise RoutingError(_("was unreachable (%(error)s)", error=type(exc).__name__)) from exc
        if response.status_code != 200:
            raise RoutingError(_("answered HTTP %(status)s", status=response.status_code))
        try:
            body = response.json()
        except ValueError as exc:
            raise RoutingError(_("answered something that is not JSON")) from exc
        if not isinstance(body, dict) or body.get("code") != "Ok":
            code = body.get("code") if isinstance(body, dict) else None
            raise RoutingError(_("answered code %(code)s instead of 'Ok'", code=repr(code)))
        return body

    async def table_km(self, points: Sequence[Point]) -> list[list[float]]:
        """The driving distance matrix in km (OSRM ``table`` with distances)."""
        if not 2 <= len(points) <= MAX_POINTS:
            raise RoutingError(_("needs 2 to %(count)s points", count=MAX_POINTS))
        body = await self._get(
            f"/table/v1/{self.profile}/{self._coordinates(points)}",
            {"annotations": "distance"},
        )
        raw = body.get("distances")
        n = len(points)
        if not isinstance(raw, list) or len(raw) != n:
            raise RoutingError(_("answered a distance table of the wrong shape"))
        matrix: list[list[float]] = []
        for i, row in enumerate(raw):
            if not isinstance(row, list) or len(row) != n:
                raise RoutingError(_("answered a distance table of the wrong shape"))
            out: list[float] = []
            for j, metres in enumerate(row):
                out.append(_checked_km(metres, points[i], points[j]))
            matrix.append(out)
        return matrix


def _checked_km(metres: object, a: Point, b: Point) -> float:
    """A distance from the service in km, refused when it cannot be a road between a and b."""
    if isinstance(metres, bool) or not isinstance(metres, int | float):
        raise RoutingError(_("answered a distance that is not a number"))
    km = float(metres) / 1000
    if not math.isfinite(km) or km < 0:
        raise RoutingError(_("answered a negative or infinite distance"))
    straight = haversine_km(a, b)
    # Roads can be shorter than the rounding of coordinates allows, never shorter than the
    # straight line by more than that; nor absurdly longer.
    if km < straight - 0.5 or km > MAX_PLAUSIBLE_DETOUR * straight + 5:
        raise RoutingError(
            _(
                "answered %(km)s km where the straight line is %(straight)s km",
                km=format(km, ".1f"),
                straight=format(straight, ".1f"),
            )
        )
    return km


async def distances(
    points: Sequence[Point],
    *,
    detour_factor: float = DEFAULT_DETOUR_FACTOR,
    client: RoutingClient | None = None,
) -> Distances:
    """Distances between ``points``: from ``client`` when given, else great-circle × detour.

    A failing service never fails the caller: the default is used and a note says why.
    """
    default = Distances(
        matrix_km(points, detour_factor=detour_factor),
        # Said where the figures are read: the page's language, the API's English.
        source=_(
            "great-circle distance × detour factor %(factor)s",
            factor=format_decimal(detour_factor, "#,##0.###"),
        ),
    )
    if client is None or len(points) < 2:
        return default
    try:
        matrix = await client.table_km(points)
    except RoutingError as exc:
        default.notes.append(
            # Translators: %(problem)s is one of the routing service's failures, worded to
            # follow "the routing service" ("timed out after 5 s", "answered HTTP 502").
            _(
                "the routing service %(problem)s; used great-circle distance × detour factor"
                " %(factor)s instead",
                problem=exc,
                factor=format_decimal(detour_factor, "#,##0.###"),
            )
        )
        return default
    return Distances(matrix, source=_("routing service %(url)s", url=client.base_url))
