"""HTTP front ends: JSON API, public pages, staff pages."""
