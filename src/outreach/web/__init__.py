"""HTTP front ends: JSON API, public pages, staff pages."""

from outreach.web import convertors as convertors  # registers {name:id} and {name:slug}
