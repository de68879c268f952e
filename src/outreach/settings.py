"""Configuration read from the environment, once, into an immutable object."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tortoise.backends.base.config_generator import expand_db_url

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SQLITE_PATH = PROJECT_ROOT / "var" / "outreach.sqlite3"
MODEL_MODULES = ["outreach.models"]


@dataclass(frozen=True, kw_only=True)
class MailSettings:
    """Where notices are sent from and through; no host keeps them in the local outbox."""

    smtp_host: str | None = None
    smtp_port: int = 587
    # "starttls" (submission, port 587), "tls" (implicit TLS, port 465) or "none".
    smtp_security: str = "starttls"
    smtp_username: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    sender: str = "Outreach <outreach@localhost>"


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything the service reads from its environment."""

    database_url: str
    secret_key: str
    # The service's address where no request gives one (publishing, feed UIDs). Pages
    # link to it only when BASE_URL is set (``base_url_fixed``); otherwise their links
    # follow the address each request came to (outreach.web.links).
    base_url: str = "http://127.0.0.1:8000"
    base_url_fixed: bool = False
    # Peers (reverse proxies) whose X-Forwarded-Proto and X-Forwarded-Host are believed.
    trusted_proxies: frozenset[str] = frozenset()
    feed_days_back: int = 30
    feed_days_ahead: int = 366
    occurrence_horizon_days: int = 3 * 366
    routing_url: str | None = None
    # The bookmobile map's tiles: a URL template with {z}, {x} and {y}, and the credit its
    # provider asks for. Without one the map draws the stops and the route on a plain
    # background and the page asks no third party for anything.
    map_tiles: str | None = None
    map_attribution: str = ""
    # Seconds a request's body may take to arrive in full (then 408).
    body_timeout: float = 10.0
    # Worker processes for long work (optimisations, imports) and how many jobs may wait.
    worker_processes: int = 2
    worker_queue: int = 4
    debug: bool = False
    mail: MailSettings = field(default_factory=MailSettings)
    # Days after an occurrence when its registrations' personal data is erased.
    registration_erase_days: int = 30
    # Days after a requested room booking when the requester's personal data is erased.
    room_request_erase_days: int = 30
    # Hours before an occurrence when the registered are reminded.
    reminder_hours: int = 24
    # Registrations one client address may send a minute, per process (then 429).
    registration_rate: int = 10
    templates_dir: Path = field(default=PROJECT_ROOT / "templates")
    fixtures_dir: Path = field(default=PROJECT_ROOT / "fixtures")

    @property
    def dialect(self) -> str:
        return "postgres" if self.database_url.startswith(("postgres", "asyncpg")) else "sqlite"

    def tortoise_config(self) -> dict[str, Any]:
        return tortoise_config(self.database_url)


def sqlite_url(path: Path) -> str:
    """A SQLite URL in WAL mode, so readers never wait for the one writer."""
    return f"sqlite://{path}?journal_mode=WAL&foreign_keys=ON&busy_timeout=5000"


# The connection long reports read on, apart from the one the application writes on.
REPORTS = "reports"


# Sessions of the reports' PostgreSQL pool:
# - read only, like SQLite's query_only: a report never writes;
# - a custom plan for every run: asyncpg prepares statements, and after five runs
#   PostgreSQL may switch to a generic plan that cannot see whether ``:library`` is one
#   library of fifty or ``:start`` a year or a week (measured: 984 ms instead of 30 ms);
# - no JIT compilation: for the coverage statement it costs more (over 100 ms) than it saves;
# - memory for a network's sorts and hashes, which would otherwise spill to disk.
REPORTS_SERVER_SETTINGS = {
    "default_transaction_read_only": "on",
    "plan_cache_mode": "force_custom_plan",
    "jit": "off",
    "work_mem": "64MB",
}


def reader_connection(database_url: str) -> str | dict[str, Any]:
    """The reports' connection: on SQLite a second connection to the same file that may
    only read (in WAL mode it reads beside the writer instead of queueing behind it, so a
    year's network report no longer holds up every request); on PostgreSQL a second pool
    whose sessions are set up for reports."""
    if database_url.startswith("sqlite"):
        return database_url + ("&" if "?" in database_url else "?") + "query_only=ON"
    config = expand_db_url(database_url)
    config["credentials"]["server_settings"] = dict(REPORTS_SERVER_SETTINGS)
    return config


def tortoise_config(database_url: str) -> dict[str, Any]:
    return {
        "connections": {"default": database_url, REPORTS: reader_connection(database_url)},
        "apps": {
            "models": {
                "models": MODEL_MODULES,
                "migrations": "outreach.migrations",
                "default_connection": "default",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


def _int(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, not {raw!r}") from None


def _bounded(env: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    value = _int(env, name, default)
    if not low <= value <= high:
        raise SystemExit(f"{name} must be a whole number from {low} to {high}, not {value}")
    return value


def _seconds(env: dict[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not 0 < value <= 3600:
        raise SystemExit(f"{name} must be a number of seconds from 0 to 3600, not {raw!r}")
    return value


def _map_tiles(env: dict[str, str]) -> str | None:
    raw = env.get("OUTREACH_MAP_TILES", "").strip()
    if not raw:
        return None
    scheme, _, rest = raw.partition("://")
    host = rest.split("/", 1)[0]
    if (
        scheme not in ("https", "http")
        or not host
        or any(c in raw for c in " \"'<>;")
        or not all(part in raw for part in ("{z}", "{x}", "{y}"))
    ):
        raise SystemExit(
            "OUTREACH_MAP_TILES must be an https:// URL template with {z}, {x} and {y},"
            " such as https://tile.openstreetmap.org/{z}/{x}/{y}.png"
        )
    return raw


def load(env: dict[str, str] | None = None) -> Settings:
    """Read settings from ``env`` (default: the process environment)."""
    env = dict(os.environ if env is None else env)
    database_url = env.get("DATABASE_URL") or sqlite_url(DEFAULT_SQLITE_PATH)
    secret_key = env.get("SECRET_KEY") or ""
    debug = env.get("OUTREACH_DEBUG", "") in {"1", "true", "yes"}
    if not secret_key:
        # A random key keeps a development server safe; sessions just don't survive restarts.
        secret_key = secrets.token_urlsafe(32)
    return Settings(
        database_url=database_url,
        secret_key=secret_key,
        base_url=(env.get("BASE_URL") or "http://127.0.0.1:8000").rstrip("/"),
        base_url_fixed=bool(env.get("BASE_URL")),
        trusted_proxies=frozenset(
            peer.strip()
            for peer in env.get("OUTREACH_TRUSTED_PROXIES", "").split(",")
            if peer.strip()
        ),
        feed_days_back=_int(env, "OUTREACH_FEED_DAYS_BACK", 30),
        feed_days_ahead=_int(env, "OUTREACH_FEED_DAYS_AHEAD", 366),
        occurrence_horizon_days=_int(env, "OUTREACH_HORIZON_DAYS", 3 * 366),
        routing_url=env.get("OUTREACH_ROUTING_URL") or None,
        map_tiles=_map_tiles(env),
        map_attribution=env.get("OUTREACH_MAP_ATTRIBUTION", "").strip(),
        body_timeout=_seconds(env, "OUTREACH_BODY_TIMEOUT", 10.0),
        worker_processes=_bounded(env, "OUTREACH_WORKERS", 2, 1, 64),
        worker_queue=_bounded(env, "OUTREACH_WORKER_QUEUE", 4, 0, 1000),
        debug=debug,
        mail=_mail(env),
        registration_erase_days=_bounded(env, "OUTREACH_REGISTRATION_ERASE_DAYS", 30, 0, 3660),
        room_request_erase_days=_bounded(env, "OUTREACH_ROOM_REQUEST_ERASE_DAYS", 30, 0, 3660),
        reminder_hours=_bounded(env, "OUTREACH_REMINDER_HOURS", 24, 1, 24 * 14),
        registration_rate=_bounded(env, "OUTREACH_REGISTRATION_RATE", 10, 1, 1_000_000),
    )


_SMTP_SECURITY = ("starttls", "tls", "none")


def _mail(env: dict[str, str]) -> MailSettings:
    security = (env.get("OUTREACH_SMTP_SECURITY") or "starttls").lower()
    if security not in _SMTP_SECURITY:
        raise SystemExit(f"OUTREACH_SMTP_SECURITY must be one of {', '.join(_SMTP_SECURITY)}")
    return MailSettings(
        smtp_host=env.get("OUTREACH_SMTP_HOST") or None,
        smtp_port=_bounded(env, "OUTREACH_SMTP_PORT", 465 if security == "tls" else 587, 1, 65535),
        smtp_security=security,
        smtp_username=env.get("OUTREACH_SMTP_USERNAME") or None,
        smtp_password=env.get("OUTREACH_SMTP_PASSWORD") or None,
        sender=env.get("OUTREACH_MAIL_FROM") or "Outreach <outreach@localhost>",
    )


# The Tortoise CLI (``tortoise -c outreach.settings.TORTOISE_ORM makemigrations``) reads this.
TORTOISE_ORM = tortoise_config(os.environ.get("DATABASE_URL") or sqlite_url(DEFAULT_SQLITE_PATH))
