"""Loading the demo fixtures: strategies from the source documents, libraries, a season.

The TOML files under ``fixtures/`` are read with the standard library and upserted by
natural keys (slugs, strategy and code, e-mail; an event by library, title in the
library's language and first start) in one transaction. Loading twice changes nothing:
unchanged rows are not written, revisions are not bumped, passwords are not re-hashed and
occurrences are rebuilt only for events that changed.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar, cast

from pypika_tortoise.queries import Table as PikaTable
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.fields.relational import ManyToManyRelation
from tortoise.models import Model
from tortoise.transactions import in_transaction

import outreach.db  # noqa: F401 - registers the SQLite adapter for Stop.arrival
from outreach.i18n import INTERFACE_LANGUAGES
from outreach.models import (
    AgeBand,
    ApprovalPolicy,
    Attendance,
    AttendanceMode,
    Audience,
    Branch,
    EmissionFactor,
    Event,
    EventAudience,
    EventFormat,
    EventKind,
    EventLanguage,
    EventStatus,
    EventTag,
    Fuel,
    Goal,
    Library,
    Network,
    Occurrence,
    OccurrenceOverride,
    OutreachService,
    Partner,
    PartnerKind,
    RegistrationPolicy,
    RegistrationScope,
    Role,
    RoleName,
    Room,
    ServiceKind,
    ServiceVisit,
    StaffUser,
    Statement,
    Stop,
    Strategy,
    StrategyValue,
    SustainableDevelopmentGoal,
    Target,
    TargetMetric,
    Theme,
    Visibility,
)
from outreach.models.bookmobile import Route, Vehicle
from outreach.progress import Progress, silent
from outreach.scheduling.occurrences import rebuild_occurrences
from outreach.scheduling.recurrence import RuleError, parse_rule, to_utc, zone
from outreach.security import hash_published_password, verify_password
from outreach.versions import bump_data_version

__all__ = ["FixtureError", "demo_logins", "load_fixtures"]

Table = dict[str, Any]
M = TypeVar("M", bound=Model)

CREATED, UPDATED = "created", "updated"
# Tables small enough to read whole once per load (events and their children are not).
CACHED: frozenset[type[Model]] = frozenset(
    {
        SustainableDevelopmentGoal,
        EmissionFactor,
        Network,
        Library,
        Branch,
        Room,
        Partner,
        Strategy,
        StrategyValue,
        Theme,
        Goal,
        Statement,
        Role,
        Vehicle,
        Route,
    }
)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class FixtureError(ValueError):
    """A fixture file that cannot be loaded; the message names the file and the entry."""


def demo_logins(directory: Path) -> list[tuple[str, str, str]]:
    """The demo accounts of ``staff.toml``: e-mail, password and roles, for ``make run``."""
    path = directory / "staff.toml"
    if not path.is_file():
        return []
    with path.open("rb") as handle:
        data = tomllib.load(handle)
    logins = []
    for entry in data.get("users", []):
        roles = ", ".join(
            f"{role['role']}:{role.get('library') or role.get('network')}"
            for role in entry.get("roles", [])
        )
        logins.append((entry["email"], entry["password"], roles))
    return logins


async def load_fixtures(directory: Path, *, progress: Progress = silent) -> dict[str, int]:
    """Load every fixture under ``directory`` in one transaction; return counts per kind.

    ``counts["changed"]`` counts the writes made (a row, a set of child rows, an
    occurrence rebuild): 0 when the database already holds exactly the fixtures.
    """
    async with in_transaction("default") as conn:
        loader = _Loader(directory, conn, progress)
        await loader.load()
        if loader.changed:
            await bump_data_version(using_db=conn)
    return {**dict(sorted(loader.counts.items())), "changed": loader.changed}


def _fail(where: str, message: str) -> FixtureError:
    return FixtureError(f"{where}: {message}")


class _Loader:
    """One load: the files, the transaction, and what has been resolved so far."""

    def __init__(
        self, directory: Path, conn: BaseDBAsyncClient, progress: Progress = silent
    ) -> None:
        self.directory = directory
        self.conn = conn
        self.progress = progress
        self.counts: Counter[str] = Counter()
        self.changed = 0
        self.networks: dict[str, Network] = {}
        self.libraries: dict[str, Library] = {}
        self.branches: dict[tuple[str, str], Branch] = {}
        self.rooms: dict[tuple[str, str, str], Room] = {}
        self.partners: dict[tuple[str, str], Partner] = {}
        self.sdgs: dict[int, SustainableDevelopmentGoal] = {}
        self.strategies: dict[str, Strategy] = {}
        self.codes: dict[tuple[str, str], StrategyValue | Goal] = {}
        self.staff: dict[str, StaffUser] = {}
        self.factors: dict[str, EmissionFactor] = {}
        self.vehicles: dict[tuple[str, str], Vehicle] = {}
        self.event_keys: set[str] = set()
        self.event_natural_keys: set[tuple[str, str, dt.datetime]] = set()
        self.to_rebuild: list[tuple[str, Event]] = []
        # Small tables are read once and matched in memory: a load is mostly lookups.
        self.cache: dict[type[Model], list[Model]] = {}
        # Links of rows created in this load, inserted in one statement per table.
        self.links: dict[tuple[str, str, str], list[tuple[Any, Any]]] = {}
        self.attendance: list[tuple[str, Event, list[Table], bool]] = []
        self.strategy_files: list[tuple[str, Strategy, Table]] = []

    # -- files -------------------------------------------------------------------------

    def _name(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.directory.parent))
        except ValueError:
            return str(path)

    def _read(self, path: Path) -> Table:
        try:
            with path.open("rb") as handle:
                return tomllib.load(handle)
        except tomllib.TOMLDecodeError as exc:
            raise _fail(self._name(path), f"not valid TOML: {exc}") from exc

    def _files(self, name: str) -> list[tuple[str, Table]]:
        """The TOML file ``name`` or every ``*.toml`` in the folder ``name``, sorted."""
        path = self.directory / name
        if path.is_dir():
            paths = sorted(path.glob("*.toml"))
        elif path.with_suffix(".toml").is_file():
            paths = [path.with_suffix(".toml")]
        else:
            paths = []
        return [(self._name(p), self._read(p)) for p in paths]

    async def load(self) -> None:
        if not self.directory.is_dir():
            raise FixtureError(f"{self.directory}: no such fixtures directory")
        sdgs, factors, organisations, strategies, staff, bookmobile, events = (
            self._files(name)
            for name in (
                "sdgs",
                "emission_factors",
                "organisations",
                "strategies",
                "staff",
                "bookmobile",
                "events",
            )
        )
        total = sum(map(len, (sdgs, factors, organisations, strategies, staff, bookmobile, events)))
        done = 0

        def loaded() -> None:
            nonlocal done
            done += 1
            self.progress("loading files", done, total)

        for where, data in sdgs:
            await self._load_sdgs(where, data)
            loaded()
        for where, data in factors:
            await self._load_factors(where, data)
            loaded()
        for where, data in organisations:
            if "network" in data:
                await self._load_network(where, _table(data, "network", where))
        for where, data in organisations:
            if "library" in data:
                await self._load_library(where, data)
            elif "network" not in data:
                raise _fail(where, "needs a [library] or a [network] table")
            else:
                # Members of the network known by name and town only: no branches, no events.
                network_slug = _table(data, "network", where).get("slug")
                for member in _list(data, "members", where, required=False):
                    if "source" not in member:
                        raise _fail(where, "a [[members]] library must name its source")
                    await self._load_library(
                        where, {"library": {**member, "network": network_slug}}
                    )
            loaded()
        for where, data in strategies:
            await self._load_strategy(where, data)
            loaded()
        for where, data in staff:
            await self._load_staff(where, data)
            loaded()
        for where, data in bookmobile:
            await self._load_bookmobile(where, data)
            loaded()
        for where, data in events:
            await self._load_events(where, data)
            loaded()
        await self._insert_links()
        for here, strategy, data in self.strategy_files:
            await self._drop_removed(here, strategy, data)
        for rebuilt, (where, event) in enumerate(self.to_rebuild, start=1):
            try:
                await rebuild_occurrences(event, using_db=self.conn)
            except RuleError as exc:
                raise _fail(where, f"cannot expand the rule: {exc}") from exc
            self.changed += 1
            self.progress("materialising events", rebuilt, len(self.to_rebuild))
        for where, event, entries, fresh in self.attendance:
            await self._load_attendance(where, event, entries, fresh=fresh)

    # -- generic writes ----------------------------------------------------------------

    async def _upsert(self, model: type[M], lookup: Table, values: Table) -> tuple[M, str]:
        """Create the row ``lookup`` names, or update the fields of ``values`` that differ.

        Returns the row and what happened: CREATED, UPDATED or "" (nothing).
        """
        if model in CACHED:
            if model not in self.cache:
                self.cache[model] = list(await model.all().using_db(self.conn))
            row = next(
                (
                    cast(M, r)
                    for r in self.cache[model]
                    if all(getattr(r, k) == v for k, v in lookup.items())
                ),
                None,
            )
        else:
            row = await model.filter(**lookup).using_db(self.conn).first()
        if row is None:
            row = await model.create(using_db=self.conn, **lookup, **values)
            self.cache.get(model, []).append(row)
            self.changed += 1
            return row, CREATED
        different = [name for name, value in values.items() if getattr(row, name) != value]
        if different:
            for name in different:
                setattr(row, name, values[name])
            await row.save(using_db=self.conn, update_fields=different)
            self.changed += 1
        return row, UPDATED if different else ""

    async def _sync_m2m(
        self, relation: ManyToManyRelation[Any], wanted: Sequence[Model], *, fresh: bool = False
    ) -> bool:
        """Make a many-to-many relation exactly ``wanted``; ``fresh``: its owner was just made."""
        if fresh:
            field = relation.field
            key = (field.through, field.backward_key, field.forward_key)
            self.links.setdefault(key, []).extend((relation.instance.pk, row.pk) for row in wanted)
            return bool(wanted)
        current = {row.pk: row for row in await relation.all().using_db(self.conn)}
        wanted_by_pk = {row.pk: row for row in wanted}
        remove = [row for pk, row in current.items() if pk not in wanted_by_pk]
        add = [row for pk, row in wanted_by_pk.items() if pk not in current]
        if remove:
            await relation.remove(*remove, using_db=self.conn)
        if add:
            await relation.add(*add, using_db=self.conn)
        if remove or add:
            self.changed += 1
            return True
        return False

    async def _insert_links(self) -> None:
        for (through, backward_key, forward_key), pairs in self.links.items():
            if not pairs:
                continue
            table = PikaTable(through)
            query = self.conn.query_class.into(table).columns(
                table[backward_key], table[forward_key]
            )
            for owner, related in pairs:
                query = query.insert(owner, related)
            await self.conn.execute_query(*query.get_parameterized_sql())
            self.changed += 1
        self.links.clear()

    async def _sync_rows(
        self,
        model: type[Model],
        parent: Table,
        key_fields: tuple[str, ...],
        wanted: dict[tuple[Any, ...], Table],
        *,
        stamp: Callable[[Model | None], Table] | None = None,
        fresh: bool = False,
    ) -> bool:
        """Make the child rows of ``parent`` exactly ``wanted`` (key -> other fields).

        ``stamp`` gives fields that are written with a created or changed row but never
        compared (when and which revision). ``fresh``: the parent was just created, so it
        has no rows yet and they are inserted in one statement (the usual first load).
        """
        if fresh:
            if wanted:
                extra = stamp(None) if stamp else {}
                await model.bulk_create(
                    [
                        model(
                            **parent, **dict(zip(key_fields, key, strict=True)), **values, **extra
                        )
                        for key, values in wanted.items()
                    ],
                    using_db=self.conn,
                )
                self.changed += 1
            return bool(wanted)
        rows = await model.filter(**parent).using_db(self.conn)
        existing = {tuple(getattr(row, name) for name in key_fields): row for row in rows}
        changed = False
        for key, old in existing.items():
            if key not in wanted:
                await old.delete(using_db=self.conn)
                changed = True
        for key, values in wanted.items():
            row = existing.get(key)
            if row is None:
                extra = stamp(None) if stamp else {}
                await model.create(
                    using_db=self.conn,
                    **parent,
                    **dict(zip(key_fields, key, strict=True)),
                    **values,
                    **extra,
                )
                changed = True
                continue
            different = [name for name, value in values.items() if getattr(row, name) != value]
            if different:
                extra = stamp(row) if stamp else {}
                for name, value in {**{n: values[n] for n in different}, **extra}.items():
                    setattr(row, name, value)
                await row.save(using_db=self.conn, update_fields=[*different, *extra])
                changed = True
        if changed:
            self.changed += 1
        return changed

    # -- SDGs and emission factors -----------------------------------------------------

    async def _load_sdgs(self, where: str, data: Table) -> None:
        for entry in _list(data, "goals", where):
            number = _int(entry, "number", where)
            name = _translated(entry, "name", f"{where}: SDG {number}", required=("en",))
            sdg, _ = await self._upsert(
                SustainableDevelopmentGoal, {"number": number}, {"name": name}
            )
            self.sdgs[number] = sdg
            self.counts["sdgs"] += 1

    async def _load_factors(self, where: str, data: Table) -> None:
        for entry in _list(data, "factors", where):
            slug = _str(entry, "slug", where)
            here = f"{where}: factor {slug!r}"
            values = {
                "fuel": _enum(Fuel, entry, "fuel", here),
                "vehicle_class": _str(entry, "vehicle_class", here),
                "kg_co2e_per_km": _number(entry, "kg_co2e_per_km", here, low=0),
                "source": _str(entry, "source", here),
                "year": _int(entry, "year", here),
                # Staff choose a factor on a page in their language; the source's English
                # stays in vehicle_class and source.
                "description": _translated(
                    entry, "description", here, required=INTERFACE_LANGUAGES
                ),
            }
            self.factors[slug], _ = await self._upsert(EmissionFactor, {"slug": slug}, values)
            self.counts["emission_factors"] += 1

    # -- organisations -----------------------------------------------------------------

    async def _load_network(self, where: str, entry: Table) -> None:
        slug = _str(entry, "slug", where)
        here = f"{where}: network {slug!r}"
        values = {
            "name": _translated(entry, "name", here, required=("en",)),
            "description": _translated(entry, "description", here, default={}),
            "default_language": _str(entry, "default_language", here),
        }
        self.networks[slug], _ = await self._upsert(Network, {"slug": slug}, values)
        self.counts["networks"] += 1

    async def _load_library(self, where: str, data: Table) -> None:
        entry = _table(data, "library", where)
        slug = _str(entry, "slug", where)
        here = f"{where}: library {slug!r}"
        timezone = _str(entry, "timezone", here)
        _zone(timezone, here)
        network_slug = entry.get("network")
        network = None
        if network_slug is not None:
            network = self.networks.get(network_slug)
            if network is None:
                raise _fail(here, f"unknown network {network_slug!r}")
        values = {
            "name": _translated(entry, "name", here, required=("en",)),
            "timezone": timezone,
            "default_language": _str(entry, "default_language", here),
            "languages": _strings(entry, "languages", here),
            "website": entry.get("website", ""),
            "network_id": network.pk if network else None,
            "source": _str(entry, "source", here) if "source" in entry else None,
            "town": _str(entry, "town", here) if "town" in entry else None,
            "approval": _approval(entry, here),
        }
        library, _ = await self._upsert(Library, {"slug": slug}, values)
        self.libraries[slug] = library
        self.counts["libraries"] += 1
        # A network's member known only by name (``source`` says from where) has no branches.
        branches_required = values["source"] is None
        for branch_entry in _list(data, "branches", where, required=branches_required):
            await self._load_branch(where, slug, library, branch_entry)
        for partner_entry in _list(data, "partners", where, required=False):
            partner_slug = _str(partner_entry, "slug", here)
            there = f"{here}, partner {partner_slug!r}"
            partner_name = _str(partner_entry, "name", there)
            # A partner is named by a strategy document (its source names the document) or
            # is a demo partnership.
            cited = partner_entry.get("source")
            document = cited.get("document") if isinstance(cited, dict) else None
            partner, _ = await self._upsert(
                Partner,
                {"library_id": library.pk, "slug": partner_slug},
                {
                    "name": partner_name,
                    "kind": _enum(PartnerKind, partner_entry, "kind", there),
                    "website": partner_entry.get("website", ""),
                    "source": _source(partner_entry, there, document, [partner_name]),
                },
            )
            self.partners[(slug, partner_slug)] = partner
            self.counts["partners"] += 1

    async def _load_branch(
        self, where: str, library_slug: str, library: Library, entry: Table
    ) -> None:
        slug = _str(entry, "slug", where)
        here = f"{where}: branch {slug!r}"
        values = {
            "name": _str(entry, "name", here),
            "address": _str(entry, "address", here),
            "postcode": str(entry.get("postcode", "")),
            "city": _str(entry, "city", here),
            "lat": _number(entry, "lat", here, low=-90, high=90),
            "lon": _number(entry, "lon", here, low=-180, high=180),
            "opening_hours": _opening_hours(entry.get("opening_hours"), here),
        }
        branch, _ = await self._upsert(Branch, {"library_id": library.pk, "slug": slug}, values)
        self.branches[(library_slug, slug)] = branch
        self.counts["branches"] += 1
        for room_entry in _list(entry, "rooms", here, required=False):
            room_slug = _str(room_entry, "slug", here)
            there = f"{here}, room {room_slug!r}"
            room, _ = await self._upsert(
                Room,
                {"branch_id": branch.pk, "slug": room_slug},
                {
                    "name": _str(room_entry, "name", there),
                    "capacity": _int(room_entry, "capacity", there, low=1),
                    "requestable": _flag(room_entry, "requestable", there),
                },
            )
            self.rooms[(library_slug, slug, room_slug)] = room
            self.counts["rooms"] += 1

    # -- strategies --------------------------------------------------------------------

    async def _load_strategy(self, where: str, data: Table) -> None:
        entry = _table(data, "strategy", where)
        slug = _str(entry, "slug", where)
        here = f"{where}: strategy {slug!r}"
        library = network = None
        if "library" in entry:
            library = self.libraries.get(entry["library"])
            if library is None:
                raise _fail(here, f"unknown library {entry['library']!r}")
        if "network" in entry:
            network = self.networks.get(entry["network"])
            if network is None:
                raise _fail(here, f"unknown network {entry['network']!r}")
        if (library is None) == (network is None):
            raise _fail(here, "needs exactly one owner: library or network")
        source_language = _str(entry, "source_language", here)
        document = _str(entry, "source_document", here)
        name = _translated(entry, "name", here, required=(source_language, "en"))
        stated = _stated_period(entry, here)
        in_force = _table(entry, "in_force", here)
        approved = entry.get("approved")
        if approved is not None and not isinstance(approved, dict):
            raise _fail(here, "approved must be a table: on, section, words")
        statements = self._statements(data, where, here, document, source_language)
        span = (_date(in_force, "start", here), _date(in_force, "end", here))
        if span[1] < span[0]:
            raise _fail(here, "in_force ends before it starts")
        if stated and stated[1] < stated[0]:
            raise _fail(here, "the period ends before it starts")
        values = {
            "library_id": library.pk if library else None,
            "network_id": network.pk if network else None,
            "name": name,
            "source_language": source_language,
            "period_start": span[0],
            "period_end": span[1],
            "stated_start": stated[0] if stated else None,
            "stated_end": stated[1] if stated else None,
            "approved_on": _date(approved, "on", here) if approved else None,
            "vision": _joined(s["text"] for s in statements if s["kind"] == "vision"),
            "mission": _joined(s["text"] for s in statements if s["kind"] == "mission"),
            "source_document": document,
            "source": {
                "document": document,
                "name": _source(entry, here, document, [name[source_language]]),
                "period": (
                    _source({"source": _table(entry, "period", here)}, here, document, [])
                    if stated
                    else None
                ),
                "approved": (
                    _source({"source": approved}, here, document, []) if approved else None
                ),
                # The span reports use is the document's period, or one the demo assumes.
                "in_force": "document" if stated == span else "demo",
                "note": _str(in_force, "note", here) if "note" in in_force else "",
            },
        }
        strategy, _ = await self._upsert(Strategy, {"slug": slug}, values)
        self.strategies[slug] = strategy
        self.counts["strategies"] += 1
        for position, statement in enumerate(statements):
            await self._upsert(
                Statement,
                {"strategy_id": strategy.pk, "key": statement["key"]},
                {**{k: v for k, v in statement.items() if k != "key"}, "position": position},
            )
            self.counts["statements"] += 1
        await self._drop_others(Statement, strategy, {s["key"] for s in statements})
        required = (source_language, "en")
        for position, value_entry in enumerate(_list(data, "values", where, required=False)):
            code = _str(value_entry, "code", here)
            there = f"{here}, value {code!r}"
            value_name = _translated(value_entry, "name", there, required=required)
            value_description = _translated(value_entry, "description", there, default={})
            value, created = await self._upsert(
                StrategyValue,
                {"strategy_id": strategy.pk, "code": code},
                {
                    "position": position,
                    "name": value_name,
                    "description": value_description,
                    "source": _source(
                        value_entry,
                        there,
                        document,
                        _texts(source_language, value_name, value_description),
                    ),
                },
            )
            await self._sdgs_and_targets(there, value, value_entry, fresh=created == CREATED)
            self._remember_code(there, slug, code, value)
            self.counts["values"] += 1
        goal_position = 0
        for position, theme_entry in enumerate(_list(data, "themes", where, required=False)):
            code = _str(theme_entry, "code", here)
            there = f"{here}, theme {code!r}"
            theme_name = _translated(theme_entry, "name", there, required=required)
            theme_description = _translated(theme_entry, "description", there, default={})
            theme, _ = await self._upsert(
                Theme,
                {"strategy_id": strategy.pk, "code": code},
                {
                    "position": position,
                    "name": theme_name,
                    "description": theme_description,
                    "source": _source(
                        theme_entry,
                        there,
                        document,
                        _texts(source_language, theme_name, theme_description),
                    ),
                },
            )
            self.counts["themes"] += 1
            for goal_entry in _list(theme_entry, "goals", there, required=False):
                await self._load_goal(here, slug, strategy, theme, goal_position, goal_entry)
                goal_position += 1
        for goal_entry in _list(data, "goals", where, required=False):
            await self._load_goal(here, slug, strategy, None, goal_position, goal_entry)
            goal_position += 1
        # Removed items go once the events (and their tags) of this load are in place.
        self.strategy_files.append((here, strategy, data))

    async def _drop_removed(self, here: str, strategy: Strategy, data: Table) -> None:
        """Delete the values, goals and themes the strategy's fixture no longer has (their
        targets and SDG links go with them), after this load's events and tags are written.
        A removed value or goal that events are still tagged with is refused, and the whole
        load with it: deleting the tags would change what earlier reports counted, so staff
        untag those events first (or keep the item)."""
        themes = _list(data, "themes", here, required=False)
        kept_values = {v.get("code") for v in _list(data, "values", here, required=False)}
        kept_themes = {t.get("code") for t in themes}
        kept_goals = {
            g.get("code")
            for entries in (
                *(_list(t, "goals", here, required=False) for t in themes),
                _list(data, "goals", here, required=False),
            )
            for g in entries
        }
        removed: list[tuple[str, StrategyValue | Goal]] = [
            *(
                ("value", v)
                for v in await StrategyValue.filter(strategy_id=strategy.pk).using_db(self.conn)
                if v.code not in kept_values
            ),
            *(
                ("goal", g)
                for g in await Goal.filter(strategy_id=strategy.pk).using_db(self.conn)
                if g.code not in kept_goals
            ),
        ]
        for kind, row in removed:
            tagged = EventTag.filter(**{f"{kind}_id": row.pk}).using_db(self.conn)
            count = await tagged.count()
            if count:
                raise _fail(
                    here,
                    f"{kind} {row.code!r} is no longer in the fixture, but {count} event(s) are"
                    f" still tagged with it; untag them (or keep the {kind}) and load again",
                )
        dropped: list[Model] = [item for _, item in removed] + [
            # Its goals that the fixture keeps were moved to their themes above.
            theme
            for theme in await Theme.filter(strategy_id=strategy.pk).using_db(self.conn)
            if theme.code not in kept_themes
        ]
        for gone in dropped:
            await gone.delete(using_db=self.conn)
            self.changed += 1
        if dropped:
            for model in (StrategyValue, Goal, Theme):
                self.cache.pop(model, None)

    async def _load_goal(
        self,
        here: str,
        strategy_slug: str,
        strategy: Strategy,
        theme: Theme | None,
        position: int,
        entry: Table,
    ) -> None:
        code = _str(entry, "code", here)
        there = f"{here}, goal {code!r}"
        language = strategy.source_language
        name = _translated(entry, "name", there, required=(language, "en"))
        description = _translated(entry, "description", there, default={})
        goal, created = await self._upsert(
            Goal,
            {"strategy_id": strategy.pk, "code": code},
            {
                "theme_id": theme.pk if theme else None,
                "position": position,
                "name": name,
                "description": description,
                "internal": bool(entry.get("internal", False)),
                "source": _source(
                    entry, there, strategy.source_document, _texts(language, name, description)
                ),
            },
        )
        await self._sdgs_and_targets(there, goal, entry, fresh=created == CREATED)
        self._remember_code(there, strategy_slug, code, goal)
        self.counts["goals"] += 1

    def _statements(
        self, data: Table, where: str, here: str, document: str, language: str
    ) -> list[Table]:
        statements: list[Table] = []
        keys: set[str] = set()
        for entry in _list(data, "statements", where, required=False):
            key = _str(entry, "key", here)
            there = f"{here}, statement {key!r}"
            if key in keys:
                raise _fail(there, "the key is used twice")
            keys.add(key)
            text = _translated(entry, "text", there, required=(language, "en"))
            statements.append(
                {
                    "key": key,
                    "kind": _str(entry, "kind", there),
                    "section": _str(entry, "section", there),
                    "text": text,
                    "source": _source(
                        entry, there, document, [text[language]], section=entry.get("section")
                    ),
                }
            )
        return statements

    async def _drop_others(self, model: type[Model], strategy: Strategy, keep: set[str]) -> None:
        """Delete the strategy's rows of ``model`` whose key the fixtures no longer name."""
        for row in await model.filter(strategy_id=strategy.pk).using_db(self.conn):
            if row.key not in keep:  # type: ignore[attr-defined]
                await row.delete(using_db=self.conn)
                cached = self.cache.get(model, [])
                self.cache[model] = [r for r in cached if r.pk != row.pk] if cached else cached
                self.changed += 1

    def _remember_code(
        self, where: str, strategy: str, code: str, row: StrategyValue | Goal
    ) -> None:
        # Tags name "strategy/code" without saying value or goal, so codes must not clash.
        if (strategy, code) in self.codes:
            raise _fail(where, f"code {code!r} is used twice in strategy {strategy!r}")
        self.codes[(strategy, code)] = row

    async def _sdgs_and_targets(
        self, where: str, row: StrategyValue | Goal, entry: Table, *, fresh: bool
    ) -> None:
        numbers = entry.get("sdgs", [])
        unknown = [n for n in numbers if n not in self.sdgs]
        if unknown:
            raise _fail(where, f"unknown SDG number(s) {unknown}")
        await self._sync_m2m(row.sdgs, [self.sdgs[n] for n in numbers], fresh=fresh)
        wanted: dict[tuple[Any, ...], Table] = {}
        for target in _list(entry, "targets", where, required=False):
            metric = _enum(TargetMetric, target, "metric", where)
            start, end = _date(target, "period_start", where), _date(target, "period_end", where)
            wanted[(metric, start, end)] = {
                "minimum": _number(target, "minimum", where, low=0),
                # No source document sets a numeric target: each one must say it is demo.
                "source": _source(target, f"{where}, target {metric.value}", None, []),
            }
            self.counts["targets"] += 1
        owner = "value_id" if isinstance(row, StrategyValue) else "goal_id"
        await self._sync_rows(
            Target, {owner: row.pk}, ("metric", "period_start", "period_end"), wanted, fresh=fresh
        )

    # -- staff -------------------------------------------------------------------------

    async def _load_staff(self, where: str, data: Table) -> None:
        for entry in _list(data, "users", where):
            email = _str(entry, "email", where).lower()
            here = f"{where}: user {email!r}"
            password = _str(entry, "password", here)
            name = _str(entry, "name", here)
            user = await StaffUser.filter(email=email).using_db(self.conn).first()
            if user is None:
                # The demo's passwords are published (fixtures/staff.toml): a light hash.
                user = await StaffUser.create(
                    using_db=self.conn,
                    email=email,
                    name=name,
                    password_hash=hash_published_password(password),
                )
                self.changed += 1
            else:
                different = []
                if user.name != name:
                    user.name = name
                    different.append("name")
                if not user.is_active:
                    user.is_active = True
                    different.append("is_active")
                if not verify_password(user.password_hash, password):
                    user.password_hash = hash_published_password(password)
                    different.append("password_hash")
                if different:
                    await user.save(using_db=self.conn, update_fields=different)
                    self.changed += 1
            self.staff[email] = user
            self.counts["staff_users"] += 1
            for role_entry in _list(entry, "roles", here):
                await self._load_role(here, user, role_entry)

    async def _load_role(self, where: str, user: StaffUser, entry: Table) -> None:
        role = _enum(RoleName, entry, "role", where)
        library_id = network_id = None
        if role == RoleName.COORDINATOR:
            network = self.networks.get(entry.get("network", ""))
            if network is None:
                raise _fail(
                    where, f"a coordinator needs a known network, not {entry.get('network')!r}"
                )
            network_id = network.pk
        else:
            library = self.libraries.get(entry.get("library", ""))
            if library is None:
                raise _fail(
                    where, f"role {role} needs a known library, not {entry.get('library')!r}"
                )
            library_id = library.pk
        # Roles are only added: a role granted by hand in a running demo survives a reload.
        await self._upsert(
            Role,
            {"user_id": user.pk, "library_id": library_id, "network_id": network_id, "role": role},
            {},
        )
        self.counts["roles"] += 1

    # -- bookmobile --------------------------------------------------------------------

    async def _load_bookmobile(self, where: str, data: Table) -> None:
        for entry in _list(data, "vehicles", where, required=False):
            library_slug = _str(entry, "library", where)
            slug = _str(entry, "slug", where)
            here = f"{where}: vehicle {slug!r}"
            library = self._library(library_slug, here)
            factor_slug = _str(entry, "emission_factor", here)
            factor = self.factors.get(factor_slug)
            if factor is None:
                raise _fail(here, f"unknown emission factor {factor_slug!r}")
            values = {
                "name": _str(entry, "name", here),
                "registration": entry.get("registration", ""),
                "fuel": _enum(Fuel, entry, "fuel", here) if "fuel" in entry else factor.fuel,
                # The vehicle takes its factor and source from the table unless it overrides.
                "kg_co2e_per_km": _number(entry, "kg_co2e_per_km", here, low=0)
                if "kg_co2e_per_km" in entry
                else factor.kg_co2e_per_km,
                "emission_factor_source": entry.get("emission_factor_source", factor.source),
                "average_speed_kmh": _number(entry, "average_speed_kmh", here, low=1),
            }
            vehicle, _ = await self._upsert(
                Vehicle, {"library_id": library.pk, "slug": slug}, values
            )
            self.vehicles[(library_slug, slug)] = vehicle
            self.counts["vehicles"] += 1
        for entry in _list(data, "routes", where, required=False):
            await self._load_route(where, entry)
        for entry in _list(data, "outreach_services", where, required=False):
            await self._load_outreach_service(where, entry)

    async def _load_outreach_service(self, where: str, entry: Table) -> None:
        library_slug = _str(entry, "library", where)
        slug = _str(entry, "slug", where)
        here = f"{where}: outreach service {slug!r}"
        library = self._library(library_slug, here)
        vehicle = None
        if "vehicle" in entry:
            vehicle = self.vehicles.get((library_slug, _str(entry, "vehicle", here)))
            if vehicle is None:
                raise _fail(here, f"unknown vehicle {entry['vehicle']!r}")
        language = library.default_language
        name = _translated(entry, "name", here, required=(language, "en"))
        description = _translated(entry, "description", here, default={})
        document = entry.get("source_document")
        service, _ = await self._upsert(
            OutreachService,
            {"library_id": library.pk, "slug": slug},
            {
                "kind": _enum(ServiceKind, entry, "kind", here),
                "name": name,
                "description": description,
                "source": _source(entry, here, document, [name[language]]),
                "vehicle_id": vehicle.pk if vehicle else None,
            },
        )
        self.counts["outreach_services"] += 1
        # Demo visits, one per service and day: staff's own records are never touched.
        for visit in _list(entry, "visits", here, required=False):
            day = _date(visit, "day", here)
            there = f"{here}, visit {day.isoformat()}"
            await self._upsert(
                ServiceVisit,
                {"service_id": service.pk, "day": day},
                {
                    "people_served": _int(visit, "people_served", there, low=0)
                    if "people_served" in visit
                    else 0,
                    "institutions_served": _int(visit, "institutions_served", there, low=0)
                    if "institutions_served" in visit
                    else 0,
                    "items": _int(visit, "items", there, low=0),
                    "km": _number(visit, "km", there, low=0),
                    "vehicle_id": vehicle.pk if vehicle else None,
                    "kg_co2e_per_km": vehicle.kg_co2e_per_km if vehicle else 0.0,
                },
            )
            self.counts["service_visits"] += 1

    async def _load_route(self, where: str, entry: Table) -> None:
        library_slug = _str(entry, "library", where)
        code = _str(entry, "code", where)
        here = f"{where}: route {code!r}"
        library = self._library(library_slug, here)
        vehicle = self.vehicles.get((library_slug, _str(entry, "vehicle", here)))
        if vehicle is None:
            raise _fail(here, f"unknown vehicle {entry['vehicle']!r}")
        depot = self.branches.get((library_slug, _str(entry, "depot", here)))
        if depot is None:
            raise _fail(here, f"unknown depot branch {entry['depot']!r}")
        event_entry = _table(entry, "event", here)
        if event_entry.get("kind", "bookmobile") != EventKind.BOOKMOBILE:
            raise _fail(here, "a route's event is of kind 'bookmobile'")
        # The route knows its event even after staff have moved the event's start.
        existing_route = await Route.filter(library_id=library.pk, code=code).using_db(self.conn)
        event, event_changed = await self._event(
            where,
            library_slug,
            library,
            {"kind": "bookmobile", **event_entry},
            rebuild=False,
            existing_id=existing_route[0].event_id if existing_route else None,  # type: ignore[attr-defined]
        )
        route, route_change = await self._upsert(
            Route,
            {"library_id": library.pk, "code": code},
            {
                "vehicle_id": vehicle.pk,
                "depot_id": depot.pk,
                "event_id": event.pk,
                "name": _str(entry, "name", here),
                "valid_from": _date(entry, "valid_from", here),
                "valid_until": _date(entry, "valid_until", here)
                if "valid_until" in entry
                else None,
                "detour_factor": _number(entry, "detour_factor", here, low=1)
                if "detour_factor" in entry
                else 1.3,
            },
        )
        self.counts["routes"] += 1
        wanted: dict[tuple[Any, ...], Table] = {}
        for position, stop in enumerate(_list(entry, "stops", here), start=1):
            there = f"{here}, stop {position}"
            arrival = stop.get("arrival")
            if not isinstance(arrival, dt.time):
                raise _fail(there, "arrival must be a TOML local time such as 09:30:00")
            wanted[(position,)] = {
                "name": _str(stop, "name", there),
                "community": stop.get("community", ""),
                "address": stop.get("address", ""),
                "postcode": str(stop.get("postcode", "")),
                "lat": _number(stop, "lat", there, low=-90, high=90),
                "lon": _number(stop, "lon", there, low=-180, high=180),
                # Tortoise keeps times zone-aware (TIMETZ on PostgreSQL) and labels naive
                # ones UTC with a warning; the label means nothing here, the arrival is
                # read as local wall-clock time in the library's zone.
                "arrival": arrival.replace(tzinfo=dt.UTC),
                "minutes_parked": _int(stop, "minutes_parked", there, low=1),
                "visibility": _enum(Visibility, stop, "visibility", there)
                if "visibility" in stop
                else Visibility.PUBLIC,
            }
            self.counts["stops"] += 1
        stops_changed = await self._sync_rows(
            Stop, {"route_id": route.pk}, ("position",), wanted, fresh=route_change == CREATED
        )
        if event_changed or route_change or stops_changed:
            self.to_rebuild.append((here, event))

    # -- events ------------------------------------------------------------------------

    def _library(self, slug: str, where: str) -> Library:
        library = self.libraries.get(slug)
        if library is None:
            raise _fail(where, f"unknown library {slug!r}")
        return library

    async def _load_events(self, where: str, data: Table) -> None:
        library_slug = _str(data, "library", where)
        library = self._library(library_slug, where)
        for entry in _list(data, "events", where):
            await self._event(where, library_slug, library, entry, rebuild=True)

    async def _event(
        self,
        where: str,
        library_slug: str,
        library: Library,
        entry: Table,
        *,
        rebuild: bool,
        existing_id: int | None = None,
    ) -> tuple[Event, bool]:
        key = _str(entry, "key", where)
        here = f"{where}: event {key!r}"
        if key in self.event_keys:
            raise _fail(here, "the key is used twice")
        self.event_keys.add(key)
        values, relations = self._event_values(here, library_slug, library, entry)
        title = values["title"][library.default_language]
        natural_key = (library_slug, title, values["starts_at"])
        if natural_key in self.event_natural_keys:
            raise _fail(here, "another event of this library has the same title and start")
        self.event_natural_keys.add(natural_key)
        if existing_id is not None:
            event = await Event.filter(id=existing_id).using_db(self.conn).first()
        else:
            # The natural key: library, title in the library's language, first start.
            candidates = await Event.filter(
                library_id=library.pk, starts_at=values["starts_at"]
            ).using_db(self.conn)
            event = next(
                (e for e in candidates if e.title.get(library.default_language) == title), None
            )
        now = dt.datetime.now(dt.UTC)
        created = event is None
        if event is None:
            event = await Event.create(using_db=self.conn, revision=1, updated_at=now, **values)
            self.changed += 1
            different: list[str] = []
        else:
            different = [name for name, value in values.items() if getattr(event, name) != value]
            for name in different:
                setattr(event, name, values[name])
        related = await self._event_relations(event, relations, fresh=created)
        if "registration" in entry:
            await self._registration(here, event, entry["registration"])
        if not created and (different or related):
            # Every change is a new revision: feeds carry it as SEQUENCE and LAST-MODIFIED.
            event.revision += 1
            event.updated_at = now
            await event.save(
                using_db=self.conn, update_fields=[*different, "revision", "updated_at"]
            )
            self.changed += 1
        changed = created or bool(different) or related
        if rebuild and changed:
            self.to_rebuild.append((here, event))
        attendance = _list(entry, "attendance", here, required=False)
        if attendance:
            self.attendance.append((here, event, attendance, created))
        self.counts["events"] += 1
        return event, changed

    async def _registration(self, where: str, event: Event, entry: object) -> None:
        """The event's registration rules: ``registration = { max_party = 2 }`` (the
        keys of ``RegistrationPolicy``; every one optional)."""
        if not isinstance(entry, dict):
            raise _fail(where, "registration must be a table")
        known = {"scope", "max_party", "closes_before_minutes", "asks_age_bands", "waitlist"}
        if set(entry) - known:
            raise _fail(where, f"registration: unknown {', '.join(sorted(set(entry) - known))}")
        values = {
            "scope": _enum(RegistrationScope, entry, "scope", where)
            if "scope" in entry
            else RegistrationScope.OCCURRENCE,
            "max_party": _int(entry, "max_party", where, low=1) if "max_party" in entry else 4,
            "closes_before_minutes": _int(entry, "closes_before_minutes", where, low=0)
            if "closes_before_minutes" in entry
            else 0,
            "asks_age_bands": _flag(entry, "asks_age_bands", where),
            "waitlist": entry.get("waitlist", True) is not False,
        }
        policy = await RegistrationPolicy.filter(event_id=event.pk).using_db(self.conn).first()
        now = dt.datetime.now(dt.UTC)
        if policy is None:
            await RegistrationPolicy.create(
                using_db=self.conn, event_id=event.pk, updated_at=now, **values
            )
            self.changed += 1
            return
        different = [name for name, value in values.items() if getattr(policy, name) != value]
        if different:
            for name in different:
                setattr(policy, name, values[name])
            policy.updated_at = now
            await policy.save(using_db=self.conn, update_fields=[*different, "updated_at"])
            self.changed += 1

    def _event_values(
        self, where: str, library_slug: str, library: Library, entry: Table
    ) -> tuple[Table, Table]:
        timezone = entry.get("timezone", library.timezone)
        tz = _zone(timezone, where)
        all_day = "first_day" in entry
        if all_day:
            first, last = _date(entry, "first_day", where), _date(entry, "last_day", where)
            if last < first:
                raise _fail(where, "last_day is before first_day")
            starts_at = to_utc(dt.datetime.combine(first, dt.time()), tz)
            ends_at = to_utc(dt.datetime.combine(last + dt.timedelta(days=1), dt.time()), tz)
        else:
            starts_at = to_utc(_local(entry, "start", where), tz)
            ends_at = to_utc(_local(entry, "end", where), tz)
            if ends_at <= starts_at:
                raise _fail(where, "end must be after start")
        rule = None
        if "rrule" in entry:
            try:
                rule = parse_rule(_str(entry, "rrule", where), tz=tz, all_day=all_day).text
            except RuleError as exc:
                raise _fail(where, f"rrule: {exc}") from exc
        exdates = [_exdate(raw, where) for raw in entry.get("exdates", [])]
        branch = room = None
        if "branch" in entry:
            branch = self.branches.get((library_slug, entry["branch"]))
            if branch is None:
                raise _fail(where, f"unknown branch {entry['branch']!r}")
        if "room" in entry:
            if branch is None:
                raise _fail(where, "a room needs its branch")
            room = self.rooms.get((library_slug, entry["branch"], entry["room"]))
            if room is None:
                raise _fail(where, f"unknown room {entry['room']!r} in branch {entry['branch']!r}")
        place = entry.get("place", {})
        status = _enum(EventStatus, entry, "status", where)
        cancelled_at = None
        if status == EventStatus.CANCELLED:
            cancelled_at = to_utc(_local(entry, "cancelled_at", where), tz)
        created_by = None
        if "created_by" in entry:
            created_by = self._user(entry["created_by"], where)
        title = _translated(entry, "title", where, required=(library.default_language, "en"))
        values: Table = {
            "library_id": library.pk,
            "kind": _enum(EventKind, entry, "kind", where),
            "title": title,
            "description": _translated(entry, "description", where, default={}),
            "starts_at": starts_at,
            "ends_at": ends_at,
            "timezone": timezone,
            "all_day": all_day,
            "rrule": rule,
            "exdates": exdates,
            "branch_id": branch.pk if branch else None,
            "room_id": room.pk if room else None,
            "place_name": place.get("name", ""),
            "place_address": place.get("address", ""),
            "lat": _number(place, "lat", where, low=-90, high=90) if "lat" in place else None,
            "lon": _number(place, "lon", where, low=-180, high=180) if "lon" in place else None,
            "format": _enum(EventFormat, entry, "format", where)
            if "format" in entry
            else EventFormat.IN_PERSON,
            "online_url": entry.get("online_url", ""),
            "capacity": _int(entry, "capacity", where, low=0) if "capacity" in entry else None,
            "visibility": _enum(Visibility, entry, "visibility", where),
            "status": status,
            "cancelled_at": cancelled_at,
            "created_by_id": created_by.pk if created_by else None,
        }
        if values["format"] != EventFormat.IN_PERSON and not values["online_url"]:
            raise _fail(where, "an online or hybrid event needs online_url")
        # Without it, Event.save() stamps a published event and keeps what a cancelled one
        # had; a cancelled event that was never published stays private.
        if "published_at" in entry:
            if status == EventStatus.DRAFT:
                raise _fail(where, "a draft has no published_at")
            values["published_at"] = to_utc(_local(entry, "published_at", where), tz)
            if cancelled_at is not None and values["published_at"] > cancelled_at:
                raise _fail(where, "published_at must not be after cancelled_at")
        relations: Table = {
            "audiences": [
                _enum(Audience, {"audience": a}, "audience", where)
                for a in _strings(entry, "audiences", where)
            ],
            "languages": _strings(entry, "languages", where),
            "partners": [
                self._partner(library_slug, slug, where) for slug in entry.get("partners", [])
            ],
            "co_organisers": [
                self._library(slug, where) for slug in entry.get("co_organisers", [])
            ],
            "staff": [self._user(email, where) for email in entry.get("staff", [])],
            "tags": self._tags(where, _strings(entry, "tags", where)),
            "overrides": [
                self._override(where, tz, o)
                for o in _list(entry, "overrides", where, required=False)
            ],
        }
        return values, relations

    def _partner(self, library_slug: str, slug: str, where: str) -> Partner:
        partner = self.partners.get((library_slug, slug))
        if partner is None:
            raise _fail(where, f"unknown partner {slug!r} of library {library_slug!r}")
        return partner

    def _user(self, email: str, where: str) -> StaffUser:
        user = self.staff.get(email.lower())
        if user is None:
            raise _fail(where, f"unknown staff user {email!r}")
        return user

    def _tags(self, where: str, tags: list[str]) -> dict[tuple[Any, ...], Table]:
        """``strategy/code`` references; the first one is the primary tag."""
        if not tags:
            raise _fail(where, "needs at least one tag (the first is primary)")
        wanted: dict[tuple[Any, ...], Table] = {}
        for position, tag in enumerate(tags):
            strategy, _, code = tag.partition("/")
            if strategy not in self.strategies:
                raise _fail(where, f"tag {tag!r}: unknown strategy {strategy!r}")
            row = self.codes.get((strategy, code))
            if row is None:
                raise _fail(where, f"tag {tag!r}: unknown goal or value code {code!r}")
            key = (row.pk, None) if isinstance(row, StrategyValue) else (None, row.pk)
            if key in wanted:
                raise _fail(where, f"tag {tag!r} is given twice")
            wanted[key] = {"primary": position == 0}
        return wanted

    def _override(self, where: str, tz: Any, entry: Table) -> Table:
        original = to_utc(_local(entry, "original_start", where), tz)
        moved = "start" in entry
        return {
            "original_start": original,
            "cancelled": bool(entry.get("cancelled", False)),
            "starts_at": to_utc(_local(entry, "start", where), tz) if moved else None,
            "ends_at": to_utc(_local(entry, "end", where), tz) if moved else None,
            "note": entry.get("note", ""),
        }

    async def _event_relations(self, event: Event, relations: Table, *, fresh: bool) -> bool:
        """Bring audiences, languages, partners, staff, tags and overrides in line."""
        parent = {"event_id": event.pk}
        audiences: dict[tuple[Any, ...], Table] = {(a,): {} for a in relations["audiences"]}
        languages: dict[tuple[Any, ...], Table] = {(lang,): {} for lang in relations["languages"]}
        changes = [
            await self._sync_rows(EventAudience, parent, ("audience",), audiences, fresh=fresh),
            await self._sync_rows(EventLanguage, parent, ("language",), languages, fresh=fresh),
            await self._sync_m2m(event.partners, relations["partners"], fresh=fresh),
            await self._sync_m2m(event.co_organisers, relations["co_organisers"], fresh=fresh),
            await self._sync_m2m(event.staff, relations["staff"], fresh=fresh),
            await self._sync_rows(
                EventTag, parent, ("value_id", "goal_id"), relations["tags"], fresh=fresh
            ),
        ]
        now = dt.datetime.now(dt.UTC)

        def stamp(row: Model | None) -> Table:
            # A changed override is a new revision of that occurrence (its own SEQUENCE).
            if isinstance(row, OccurrenceOverride):
                return {"updated_at": now, "revision": row.revision + 1}
            return {"updated_at": now, "revision": 1}

        overrides = {
            (o["original_start"],): {k: v for k, v in o.items() if k != "original_start"}
            for o in relations["overrides"]
        }
        changes.append(
            await self._sync_rows(
                OccurrenceOverride,
                parent,
                ("original_start",),
                overrides,
                stamp=stamp,
                fresh=fresh,
            )
        )
        return any(changes)

    async def _load_attendance(
        self, where: str, event: Event, entries: list[Table], *, fresh: bool
    ) -> None:
        """Counts per occurrence; each must be an occurrence the event really has."""
        tz = zone(event.timezone)
        starts = {to_utc(_local(entry, "start", where), tz): entry for entry in entries}
        ends = {
            o.original_start: o.ends_at
            for o in await Occurrence.filter(
                event_id=event.pk, original_start__in=list(starts), stop_id=None
            ).using_db(self.conn)
        }
        for original, entry in starts.items():
            if original not in ends:
                raise _fail(
                    where, f"attendance for {entry['start']}: the event has no such occurrence"
                )
            wanted: dict[tuple[Any, ...], Table] = {}
            for mode, table_name in (
                (AttendanceMode.ON_SITE, "on_site"),
                (AttendanceMode.ONLINE, "online"),
            ):
                for band, count in entry.get(table_name, {}).items():
                    age_band = _enum(AgeBand, {"band": band}, "band", where)
                    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
                        raise _fail(
                            where, f"attendance count for {band} must be a whole number >= 0"
                        )
                    # Recorded when the session ended: a fixed instant keeps reloads idempotent.
                    wanted[(age_band, mode)] = {"count": count, "recorded_at": ends[original]}
                    self.counts["attendance"] += 1
            # Only the listed age bands and modes of a listed occurrence are the fixture's;
            # counts recorded by staff for anything else are left alone.
            for (age_band, mode), values in wanted.items():
                if fresh:
                    continue
                await self._upsert(
                    Attendance,
                    {
                        "event_id": event.pk,
                        "original_start": original,
                        "stop_id": None,
                        "age_band": age_band,
                        "mode": mode,
                    },
                    {**values, "library_id": event.library_id},  # type: ignore[attr-defined]
                )
            if fresh and wanted:
                await Attendance.bulk_create(
                    [
                        Attendance(
                            event_id=event.pk,
                            library_id=event.library_id,  # type: ignore[attr-defined]
                            original_start=original,
                            stop_id=None,
                            age_band=age_band,
                            mode=mode,
                            **values,
                        )
                        for (age_band, mode), values in wanted.items()
                    ],
                    using_db=self.conn,
                )
                self.changed += 1


# -- reading values ----------------------------------------------------------------------


def _table(data: Table, key: str, where: str) -> Table:
    value = data.get(key)
    if not isinstance(value, dict):
        raise _fail(where, f"needs a [{key}] table")
    return value


def _list(data: Table, key: str, where: str, *, required: bool = True) -> list[Table]:
    value = data.get(key)
    if value is None and not required:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise _fail(where, f"needs a list of [[{key}]] tables")
    return value


def _approval(entry: Table, where: str) -> ApprovalPolicy:
    """What the library's directors approve (``none`` when the file does not say)."""
    raw = entry.get("approval", ApprovalPolicy.NONE.value)
    choices = [policy.value for policy in ApprovalPolicy]
    if raw not in choices:
        raise _fail(where, f"approval must be one of {', '.join(choices)}, not {raw!r}")
    return ApprovalPolicy(raw)


def _str(data: Table, key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _fail(where, f"{key} must be a non-empty string")
    return value


def _flag(data: Table, key: str, where: str) -> bool:
    """An optional true or false (false when absent)."""
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise _fail(where, f"{key} must be true or false")
    return value


def _strings(data: Table, key: str, where: str) -> list[str]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _fail(where, f"{key} must be a list of strings")
    return value


def _int(data: Table, key: str, where: str, *, low: int | None = None) -> int:
    value = data.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or (low is not None and value < low):
        raise _fail(
            where, f"{key} must be a whole number" + (f" >= {low}" if low is not None else "")
        )
    return value


def _number(
    data: Table, key: str, where: str, *, low: float | None = None, high: float | None = None
) -> float:
    value = data.get(key)
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise _fail(where, f"{key} must be a number")
    if (low is not None and value < low) or (high is not None and value > high):
        raise _fail(where, f"{key} must be between {low} and {high}")
    return float(value)


def _date(data: Table, key: str, where: str) -> dt.date:
    value = data.get(key)
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        raise _fail(where, f"{key} must be a TOML date such as 2026-09-01")
    return value


def _local(data: Table, key: str, where: str) -> dt.datetime:
    value = data.get(key)
    if not isinstance(value, dt.datetime) or value.tzinfo is not None:
        raise _fail(where, f"{key} must be a TOML local date-time such as 2026-09-01T17:00:00")
    return value


def _exdate(value: Any, where: str) -> str:
    # Stored as the model says: original local starts in ISO 8601 without an offset.
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.isoformat()
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value.isoformat()
    raise _fail(where, f"exdate {value!r} must be a TOML local date-time or date")


def _zone(name: Any, where: str) -> Any:
    try:
        return zone(name)
    except RuleError as exc:
        raise _fail(where, f"time zone: {exc}") from exc


def _enum(enum: Any, data: Table, key: str, where: str) -> Any:
    value = data.get(key)
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(member.value for member in enum)
        raise _fail(where, f"unknown {key} {value!r} (one of: {allowed})") from None


def _translated(
    data: Table,
    key: str,
    where: str,
    *,
    required: Iterable[str] = (),
    default: dict[str, str] | None = None,
) -> dict[str, str]:
    value = data.get(key)
    if value is None and default is not None:
        return dict(default)
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in value.items()
    ):
        raise _fail(where, f"{key} must be a table of language code = text")
    missing = [lang for lang in required if lang not in value]
    if missing:
        raise _fail(where, f"{key} lacks the language(s) {', '.join(missing)}")
    return dict(value)


def _texts(language: str, *texts: dict[str, str]) -> list[str]:
    """The source-language texts of an item, which are the document's words when exact."""
    return [text[language] for text in texts if text.get(language)]


def _joined(texts: Iterable[dict[str, str]]) -> dict[str, str]:
    joined: dict[str, list[str]] = {}
    for text in texts:
        for language, words in text.items():
            joined.setdefault(language, []).append(words)
    return {language: "\n\n".join(parts) for language, parts in joined.items()}


def _stated_period(entry: Table, where: str) -> tuple[dt.date, dt.date] | None:
    """The period the document states (``[strategy.period]``), or None if it states none."""
    period = entry.get("period")
    if period is None:
        return None
    if not isinstance(period, dict):
        raise _fail(where, "period must be a table: start, end, section, words")
    return _date(period, "start", where), _date(period, "end", where)


def _source(
    entry: Table,
    where: str,
    document: str | None,
    words: list[str],
    *,
    section: Any = None,
) -> dict[str, Any]:
    """Provenance from ``entry["source"]``, which every item must have.

    ``source = "demo"`` (or ``{ demo = "why" }``) marks what the project made up. Otherwise
    ``{ section = "…", match = "exact" }``: the item's own source-language texts are the
    document's words; ``match = "loose"`` needs ``words``, the passages it is drawn from.
    """
    source = entry.get("source")
    if source == "demo" or (isinstance(source, dict) and "demo" in source):
        note = source["demo"] if isinstance(source, dict) else ""
        if not isinstance(note, str):
            raise _fail(where, "source.demo must be a string saying why")
        return {"kind": "demo", "note": note}
    if document is None:
        raise _fail(where, 'source must be "demo": no source document sets one')
    if section is not None and source is None:
        source = {"section": section}
    if not isinstance(source, dict):
        raise _fail(where, 'needs a source: { section = "…" } or "demo"')
    match = source.get("match", "exact")
    if match not in ("exact", "loose"):
        raise _fail(where, f"source.match must be exact or loose, not {match!r}")
    given = source.get("words")
    if given is not None:
        if isinstance(given, str):
            given = [given]
        if not isinstance(given, list) or not all(isinstance(w, str) and w for w in given):
            raise _fail(where, "source.words must be a list of the document's passages")
        words = given
    elif match == "loose":
        raise _fail(where, "a loose source needs words: the passages it is drawn from")
    if not words:
        raise _fail(where, "source.words: the document's words are missing")
    return {
        "kind": "document",
        "document": document,
        "section": _str(source, "section", where),
        "words": list(words),
        "match": match,
    }


def _opening_hours(value: Any, where: str) -> dict[str, list[list[str]]]:
    if not isinstance(value, dict) or set(value) != set(WEEKDAYS):
        raise _fail(where, f"opening_hours needs exactly the days {', '.join(WEEKDAYS)}")
    hours: dict[str, list[list[str]]] = {}
    for day in WEEKDAYS:
        spans = value[day]
        for span in spans:
            if (
                not isinstance(span, list)
                or len(span) != 2
                or not all(isinstance(t, str) and len(t) == 5 for t in span)
                or not span[0] < span[1]
            ):
                raise _fail(where, f'opening_hours.{day}: {span!r} is not ["HH:MM", "HH:MM"]')
            for clock in span:
                try:
                    dt.time.fromisoformat(clock)
                except ValueError as exc:
                    raise _fail(where, f"opening_hours.{day}: {clock!r} is not HH:MM") from exc
        hours[day] = [list(span) for span in spans]
    return hours
