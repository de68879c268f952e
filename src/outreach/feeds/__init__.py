"""iCalendar feeds: building, caching by data version, and static publishing."""

from __future__ import annotations

from outreach.feeds.build import BuiltFeed, FeedCache, build_feed, cached_feed
from outreach.feeds.filters import FeedFilter, Scope, library_scope, network_scope, parse_filter
from outreach.feeds.publish import publish

__all__ = [
    "BuiltFeed",
    "FeedCache",
    "FeedFilter",
    "Scope",
    "build_feed",
    "cached_feed",
    "library_scope",
    "network_scope",
    "parse_filter",
    "publish",
]
