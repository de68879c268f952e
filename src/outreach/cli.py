"""The ``outreach`` command: serve, migrate, load fixtures, manage users and tokens.

What staff read is worded in a library's language: a command about one library or network
(``import-stops``, ``report coverage``) speaks its default language, ``users`` and
``tokens`` speak ``--lang`` (English unless given). Numbers are Babel's, in that language.
What scripts read stays as it is: the CSV and JSON of a report, a new token's secret, the
progress lines.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import getpass
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from tortoise import Tortoise
from tortoise.transactions import in_transaction

from outreach import i18n
from outreach import settings as settings_module
from outreach.bookmobile.commands import add_import_stops
from outreach.db import migrate
from outreach.i18n import gettext as _
from outreach.i18n import ngettext
from outreach.models import ApiToken, Library, Network, Role, RoleName, StaffUser
from outreach.progress import Reporter
from outreach.security import (
    KEPT_PREFIX_LENGTH,
    TOKEN_PREFIX,
    hash_password,
    hash_token,
    new_token,
)
from outreach.web.serving import DEFAULT_SERVER, SERVERS

Handler = Callable[[argparse.Namespace, settings_module.Settings], Awaitable[int]]
MIN_PASSWORD = 10


class CommandError(Exception):
    """A problem the user can fix; printed without a traceback, exit status 2."""


async def _with_database(
    settings: settings_module.Settings, work: Callable[[], Awaitable[int]]
) -> int:
    await Tortoise.init(config=settings.tortoise_config())
    try:
        return await work()
    finally:
        await Tortoise.close_connections()


def _ensure_sqlite_directory(settings: settings_module.Settings) -> None:
    if settings.dialect == "sqlite" and settings.database_url.startswith("sqlite://"):
        path = settings.database_url.removeprefix("sqlite://").split("?", 1)[0]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)


async def cmd_migrate(args: argparse.Namespace, settings: settings_module.Settings) -> int:
    _ensure_sqlite_directory(settings)
    try:
        applied = await migrate(settings.database_url, args.to)
    except ValueError as exc:  # Tortoise: "Unknown migration target models.NAME"
        raise CommandError(f"--to: no migration named {args.to!r}") from exc
    print(f"applied {len(applied)} migration(s)" + (": " + ", ".join(applied) if applied else ""))
    return 0


async def cmd_load_fixtures(args: argparse.Namespace, settings: settings_module.Settings) -> int:
    from outreach.fixtures import demo_logins, load_fixtures

    directory = Path(args.dir) if args.dir else settings.fixtures_dir

    async def work() -> int:
        with Reporter("load-fixtures") as progress:
            counts = await load_fixtures(directory, progress=progress)
        print("fixtures loaded: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
        if args.print_logins:
            print("\nDemo staff logins (e-mail / password / roles):")
            for email, password, roles in demo_logins(directory):
                print(f"  {email:<36} {password:<32} {roles}")
        return 0

    return await _with_database(settings, work)


async def cmd_publish(args: argparse.Namespace, settings: settings_module.Settings) -> int:
    from outreach.feeds.publish import publish

    async def work() -> int:
        with Reporter("publish") as progress:
            written = await publish(Path(args.out), settings, progress=progress)
        print(f"published {len(written)} file(s) under {args.out}")
        return 0

    return await _with_database(settings, work)


async def cmd_extend_horizon(args: argparse.Namespace, settings: settings_module.Settings) -> int:
    from outreach.scheduling.occurrences import extend_horizon

    async def work() -> int:
        with Reporter("extend-horizon") as progress:
            rebuilt = await extend_horizon(progress=progress)
        print(f"rebuilt the occurrences of {rebuilt} recurring event(s) up to the horizon")
        return 0

    return await _with_database(settings, work)


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


async def cmd_report_coverage(args: argparse.Namespace, settings: settings_module.Settings) -> int:
    from outreach.errors import DomainError
    from outreach.reports import export_coverage

    async def work() -> int:
        # The report's problems in its library's or network's words; its CSV and JSON
        # are for scripts and stay as they are.
        with i18n.speaking(await _language_of(library=args.library, network=args.network)):
            try:
                text = await export_coverage(
                    fmt=args.format,
                    library=args.library,
                    network=args.network,
                    strategy=args.strategy,
                    start=args.start,
                    end=args.end,
                )
            except DomainError as exc:
                problems = "; ".join(f"--{k}: {v}" for k, v in exc.fields.items())
                raise CommandError(problems or exc.error) from None
        sys.stdout.write(text)
        return 0

    return await _with_database(settings, work)


async def _language_of(*, library: str | None = None, network: str | None = None) -> str:
    """The default language of the library or network with that slug (the source
    language when there is none: the command then says that it found none)."""
    found: Library | Network | None = None
    if library is not None:
        found = await Library.get_or_none(slug=library)
    elif network is not None:
        found = await Network.get_or_none(slug=network)
    return found.default_language if found is not None else i18n.SOURCE_LANGUAGE


def _parse_role(text: str) -> tuple[RoleName, str]:
    name, _colon, scope = text.partition(":")
    try:
        role = RoleName(name)
    except ValueError:
        choices = ", ".join(r.value for r in RoleName)
        raise CommandError(
            _(
                "--role %(given)s: unknown role %(role)s (one of %(choices)s)",
                given=repr(text),
                role=repr(name),
                choices=choices,
            )
        ) from None
    if not scope:
        raise CommandError(
            # Translators: ROLE:SLUG and editor:maribor are typed as they are.
            _("--role %(given)s: write ROLE:SLUG, e.g. editor:maribor", given=repr(text))
        )
    return role, scope


async def cmd_users_add(args: argparse.Namespace, settings: settings_module.Settings) -> int:
    roles = [_parse_role(r) for r in args.role]
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass(_("Password for %(email)s: ", email=args.email))
    if len(password) < MIN_PASSWORD:
        raise CommandError(
            ngettext(
                "the password must have at least %(num)s character",
                "the password must have at least %(num)s characters",
                MIN_PASSWORD,
                num=i18n.format_number(MIN_PASSWORD),
            )
        )

    async def work() -> int:
        async with in_transaction("default") as conn:
            if await StaffUser.filter(email=args.email).using_db(conn).exists():
                raise CommandError(
                    _("a user with e-mail %(email)s exists already", email=args.email)
                )
            user = await StaffUser.create(
                email=args.email,
                name=args.name,
                password_hash=hash_password(password),
                using_db=conn,
            )
            for role, scope in roles:
                if role is RoleName.COORDINATOR:
                    network = await Network.filter(slug=scope).using_db(conn).first()
                    if network is None:
                        raise CommandError(_("no network with slug %(slug)s", slug=repr(scope)))
                    await Role.create(user=user, network=network, role=role, using_db=conn)
                else:
                    library = await Library.filter(slug=scope).using_db(conn).first()
                    if library is None:
                        raise CommandError(_("no library with slug %(slug)s", slug=repr(scope)))
                    await Role.create(user=user, library=library, role=role, using_db=conn)
        if args.role:
            said = _(
                "created user %(email)s with roles: %(roles)s",
                email=args.email,
                roles=", ".join(args.role),
            )
        else:
            said = _("created user %(email)s with no role", email=args.email)
        print(said)
        return 0

    return await _with_database(settings, work)


async def cmd_tokens_create(args: argparse.Namespace, settings: settings_module.Settings) -> int:
    async def work() -> int:
        user = await StaffUser.get_or_none(email=args.email)
        if user is None:
            raise CommandError(_("no user with e-mail %(email)s", email=args.email))
        token = new_token()
        await ApiToken.create(
            user=user, name=args.name, prefix=token.prefix, token_hash=token.digest
        )
        print(token.secret)
        print(
            # Translators: 'Authorization: Bearer <token>' is an HTTP header, kept as it is.
            _(
                "API token %(name)s for %(email)s: shown once, store it now."
                " Use it as 'Authorization: Bearer <token>'.",
                name=repr(args.name),
                email=args.email,
            ),
            file=sys.stderr,
        )
        return 0

    return await _with_database(settings, work)


def _matches(token: ApiToken, given: str) -> bool:
    """Whether ``given`` begins the token: up to the prefix kept of it (its first
    characters), or, when longer, is the whole token (checked against its digest; the
    characters between are not kept, so nothing else can be checked)."""
    if len(given) <= len(token.prefix):
        return token.prefix.startswith(given)
    return hash_token(given) == token.token_hash


async def cmd_tokens_revoke(args: argparse.Namespace, settings: settings_module.Settings) -> int:
    """Revoke the one active token that ``PREFIX`` begins (any unambiguous prefix)."""
    given: str = args.prefix
    if not given.startswith(TOKEN_PREFIX) or len(given) == len(TOKEN_PREFIX):
        raise CommandError(
            _(
                "%(given)s is not a token prefix: tokens begin %(prefix)s and one or more"
                " characters of the token, e.g. %(example)s",
                given=repr(given),
                prefix=repr(TOKEN_PREFIX),
                example=TOKEN_PREFIX + "Ab3",
            )
        )

    async def work() -> int:
        async with in_transaction("default") as conn:
            found = [t for t in await ApiToken.all().using_db(conn) if _matches(t, given)]
            active = [t for t in found if t.revoked_at is None]
            if not active:
                if found:
                    problem = _("token prefix %(given)s is revoked already", given=repr(given))
                elif len(given) > KEPT_PREFIX_LENGTH:
                    problem = ngettext(
                        "token prefix %(given)s is unknown: give at most its first %(num)s"
                        " character or the whole token",
                        "token prefix %(given)s is unknown: give at most its first %(num)s"
                        " characters or the whole token",
                        KEPT_PREFIX_LENGTH,
                        given=repr(given),
                        num=i18n.format_number(KEPT_PREFIX_LENGTH),
                    )
                else:
                    problem = _("token prefix %(given)s matches no token", given=repr(given))
                raise CommandError(problem)
            if len(active) > 1:
                raise CommandError(
                    ngettext(
                        "token prefix %(given)s is ambiguous: %(num)s active token begins"
                        " with it (%(prefixes)s); give more characters, or the whole token",
                        "token prefix %(given)s is ambiguous: %(num)s active tokens begin"
                        " with it (%(prefixes)s); give more characters, or the whole token",
                        len(active),
                        given=repr(given),
                        num=i18n.format_number(len(active)),
                        prefixes=", ".join(sorted(t.prefix for t in active)),
                    )
                )
            token = active[0]
            await (
                ApiToken.filter(id=token.id, revoked_at=None)
                .using_db(conn)
                .update(revoked_at=dt.datetime.now(dt.UTC))
            )
            user = await StaffUser.get(id=token.user_id).using_db(conn)  # type: ignore[attr-defined]
        print(
            # Translators: the token's name ('nightly') and the e-mail of the user it was for.
            _(
                "revoked token %(prefix)s (%(name)s of %(email)s)",
                prefix=token.prefix,
                name=repr(token.name),
                email=user.email,
            )
        )
        return 0

    return await _with_database(settings, work)


def cmd_serve(args: argparse.Namespace, settings: settings_module.Settings) -> int:
    import os

    from outreach.web.serving import serve

    workers = args.workers or os.cpu_count() or 1
    print(
        f"Outreach serving on http://{args.host}:{args.port}  (database: {settings.dialect},"
        f" {workers} worker process(es), {args.server})",
        flush=True,
    )
    serve(
        host=args.host,
        port=args.port,
        workers=workers,
        access_log=args.access_log,
        server=args.server,
    )
    return 0


def _add_lang(parser: argparse.ArgumentParser) -> None:
    """``--lang``, for a command about no one library: the language of what it says."""
    parser.add_argument(
        "--lang",
        choices=i18n.INTERFACE_LANGUAGES,
        default=i18n.SOURCE_LANGUAGE,
        help=f"the language of the messages (default: {i18n.SOURCE_LANGUAGE})",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="outreach", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve the web application")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--workers", type=int, default=None, help="worker processes (default: one per core)"
    )
    serve.add_argument(
        "--server",
        choices=SERVERS,
        default=DEFAULT_SERVER,
        help=(
            "the HTTP server (default: granian; uvicorn runs on uvloop and httptools."
            " bench/feeds.py measures both: uvicorn spent less CPU per cached answer on an"
            " idle machine, granian on a busy one)"
        ),
    )
    serve.add_argument(
        "--access-log",
        default="-",
        metavar="FILE",
        help="append one line per request to FILE, batched every second (default: - for stderr)",
    )
    serve.add_argument(
        "--no-access-log", dest="access_log", action="store_const", const="", help="no access log"
    )
    serve.set_defaults(sync_handler=cmd_serve)

    migrate_parser = commands.add_parser("migrate", help="apply database migrations")
    migrate_parser.add_argument(
        "--to", metavar="NAME", help="migrate to this migration only (e.g. 0001_initial)"
    )
    migrate_parser.set_defaults(handler=cmd_migrate)

    load = commands.add_parser("load-fixtures", help="load strategies and demo data (idempotent)")
    load.add_argument("--dir", help="fixtures directory (default: fixtures/)")
    load.add_argument("--print-logins", action="store_true", help="print the demo staff logins")
    load.set_defaults(handler=cmd_load_fixtures)

    publish = commands.add_parser(
        "publish", help="write every public feed and an index page, for any web server or CDN"
    )
    publish.add_argument("--out", default="calendars", help="directory (default: calendars/)")
    publish.set_defaults(handler=cmd_publish)

    commands.add_parser(
        "extend-horizon",
        help="materialise recurring events up to the rolling horizon (run daily, e.g. from cron)",
    ).set_defaults(handler=cmd_extend_horizon)

    report = commands.add_parser("report", help="reports").add_subparsers(
        dest="report_command", required=True
    )
    coverage = report.add_parser("coverage", help="value coverage of a library or network")
    scope = coverage.add_mutually_exclusive_group(required=True)
    scope.add_argument("--library", help="library slug")
    scope.add_argument("--network", help="network slug")
    coverage.add_argument("--strategy", help="strategy id or slug (default: the current one)")
    coverage.add_argument("--from", dest="start", type=_date, required=True, help="first day")
    coverage.add_argument("--to", dest="end", type=_date, required=True, help="last day")
    coverage.add_argument("--format", choices=["csv", "json"], default="csv")
    coverage.set_defaults(handler=cmd_report_coverage)

    add_import_stops(commands)

    users = commands.add_parser("users", help="staff users").add_subparsers(
        dest="users_command", required=True
    )
    add = users.add_parser("add", help="create a staff user")
    add.add_argument("email")
    add.add_argument("--name", required=True)
    add.add_argument(
        "--role",
        action="append",
        default=[],
        help="ROLE:SLUG, e.g. editor:maribor, director:skopje, coordinator:lapin-kirjasto",
    )
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    _add_lang(add)
    add.set_defaults(handler=cmd_users_add)

    tokens = commands.add_parser("tokens", help="API tokens").add_subparsers(
        dest="tokens_command", required=True
    )
    create = tokens.add_parser("create", help="create a token (printed once)")
    create.add_argument("email")
    create.add_argument("--name", required=True, help="what the token is for")
    _add_lang(create)
    create.set_defaults(handler=cmd_tokens_create)
    revoke = tokens.add_parser(
        "revoke", help="revoke a token by any unambiguous prefix of it (or the whole token)"
    )
    revoke.add_argument("prefix")
    _add_lang(revoke)
    revoke.set_defaults(handler=cmd_tokens_revoke)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    settings = settings_module.load()
    try:
        sync_handler: Callable[[argparse.Namespace, Any], int] | None = getattr(
            args, "sync_handler", None
        )
        # A command with --lang speaks it; the others choose their library's language.
        with i18n.speaking(getattr(args, "lang", i18n.SOURCE_LANGUAGE)):
            if sync_handler is not None:
                code = sync_handler(args, settings)
            else:
                code = asyncio.run(args.handler(args, settings))
    except CommandError as exc:
        print(f"outreach: {exc}", file=sys.stderr)
        code = 2
    raise SystemExit(code)
