"""What registration needs of the service's settings: the key that signs links, the public
address links point to, and how long personal data is kept.

The app sets it once (:func:`configure`, from ``create_app``); code that changes
occurrences (the scheduling service) then writes notices with working links without being
handed the settings. A process without an app (a command) reads the environment.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from outreach.settings import Settings, load


@dataclass(frozen=True)
class Config:
    secret_key: str
    base_url: str
    erase_days: int
    reminder_hours: int

    @property
    def erase_after(self) -> dt.timedelta:
        return dt.timedelta(days=self.erase_days)


_config: Config | None = None


def configure(settings: Settings) -> Config:
    global _config
    _config = Config(
        secret_key=settings.secret_key,
        base_url=settings.base_url,
        erase_days=settings.registration_erase_days,
        reminder_hours=settings.reminder_hours,
    )
    return _config


def current() -> Config:
    return _config or configure(load())
