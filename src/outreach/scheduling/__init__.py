"""Recurrence expansion, occurrences, conflicts and the event service functions."""
