"""Outreach: event and outreach programme scheduling for public libraries."""

from __future__ import annotations

__version__ = "0.1.0"
