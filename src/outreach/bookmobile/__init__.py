"""Bookmobiles: routes and timetables, distances, emissions, stop-order optimisation."""
