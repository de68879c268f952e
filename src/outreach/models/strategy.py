"""Strategies and what they hold: values, themes, numbered goals, statements, SDG mappings,
targets, and where each of them comes from.

Provenance (the ``source`` of a value, theme, goal, statement or target) is one of

- ``{"kind": "document", "document": "004_be89e9b5119daff6.txt", "section": "…",
  "words": ["…"], "match": "exact" | "loose"}``: the source document, the section it
  stands in and its exact words (``loose``: the item is a label drawn from those words);
- ``{"kind": "demo", "note": "…"}``: made up by the project to show a feature (every
  numeric target: none of the documents sets one).
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.migrations.constraints import CheckConstraint
from tortoise.models import Model

from outreach.models.organisations import Library, Network, Translated

Source = dict[str, Any]


class SustainableDevelopmentGoal(Model):
    """One of the 17 UN Sustainable Development Goals."""

    number = fields.SmallIntField(primary_key=True)
    name: Translated = fields.JSONField()

    class Meta:
        table = "sdg"


class Strategy(Model):
    """The strategy of a library or a network for a period."""

    id = fields.IntField(primary_key=True)
    slug = fields.CharField(max_length=64, unique=True)
    library: fields.ForeignKeyNullableRelation[Library] = fields.ForeignKeyField(
        "models.Library", related_name="strategies", null=True, on_delete=fields.RESTRICT
    )
    network: fields.ForeignKeyNullableRelation[Network] = fields.ForeignKeyField(
        "models.Network", related_name="strategies", null=True, on_delete=fields.RESTRICT
    )
    name: Translated = fields.JSONField()
    source_language = fields.CharField(max_length=8)
    # When reports take the strategy to be in force: the stated period where the document
    # gives one, otherwise a span the demo assumes (``source["in_force"]`` says which).
    period_start: dt.date = fields.DateField()
    period_end: dt.date = fields.DateField()
    # As the document gives them: NULL where it gives none.
    approved_on: dt.date | None = fields.DateField(null=True)
    stated_start: dt.date | None = fields.DateField(null=True)
    stated_end: dt.date | None = fields.DateField(null=True)
    # Texts of the vision and mission statements, joined (the statements hold each one).
    vision: Translated = fields.JSONField(default=dict)
    mission: Translated = fields.JSONField(default=dict)
    source_document = fields.CharField(max_length=200, default="")
    # {"document", "name": {...}, "period": {...} | None, "approved": {...} | None,
    #  "in_force": "document" | "demo", "note"}: where the name, period and date come from.
    source: Source | None = fields.JSONField(null=True)

    values: fields.ReverseRelation[StrategyValue]
    themes: fields.ReverseRelation[Theme]
    goals: fields.ReverseRelation[Goal]
    statements: fields.ReverseRelation[Statement]

    class Meta:
        table = "strategy"
        constraints = (
            CheckConstraint(
                check="(library_id IS NULL) <> (network_id IS NULL)",
                name="strategy_has_one_owner",
            ),
            CheckConstraint(check="period_end >= period_start", name="strategy_period_order"),
        )


class StrategyValue(Model):
    """A value the strategy names, such as sustainable development or equality."""

    id = fields.IntField(primary_key=True)
    strategy: fields.ForeignKeyRelation[Strategy] = fields.ForeignKeyField(
        "models.Strategy", related_name="values", on_delete=fields.CASCADE
    )
    code = fields.CharField(max_length=32)
    position = fields.SmallIntField(default=0)
    name: Translated = fields.JSONField()
    description: Translated = fields.JSONField(default=dict)
    source: Source | None = fields.JSONField(null=True)
    sdgs: fields.ManyToManyRelation[SustainableDevelopmentGoal] = fields.ManyToManyField(
        "models.SustainableDevelopmentGoal", related_name="values", through="strategy_value_sdg"
    )

    targets: fields.ReverseRelation[Target]

    class Meta:
        table = "strategy_value"
        unique_together = (("strategy", "code"),)


class Theme(Model):
    """A strategic theme, such as Lapland A, B, C or the five of Skopje."""

    id = fields.IntField(primary_key=True)
    strategy: fields.ForeignKeyRelation[Strategy] = fields.ForeignKeyField(
        "models.Strategy", related_name="themes", on_delete=fields.CASCADE
    )
    code = fields.CharField(max_length=32)
    position = fields.SmallIntField(default=0)
    name: Translated = fields.JSONField()
    description: Translated = fields.JSONField(default=dict)
    source: Source | None = fields.JSONField(null=True)

    goals: fields.ReverseRelation[Goal]

    class Meta:
        table = "theme"
        unique_together = (("strategy", "code"),)


class Goal(Model):
    """A numbered goal (A1…C4), ``internal`` when staff events serve it."""

    id = fields.IntField(primary_key=True)
    strategy: fields.ForeignKeyRelation[Strategy] = fields.ForeignKeyField(
        "models.Strategy", related_name="goals", on_delete=fields.CASCADE
    )
    theme: fields.ForeignKeyNullableRelation[Theme] = fields.ForeignKeyField(
        "models.Theme", related_name="goals", null=True, on_delete=fields.CASCADE
    )
    code = fields.CharField(max_length=32)
    position = fields.SmallIntField(default=0)
    name: Translated = fields.JSONField()
    description: Translated = fields.JSONField(default=dict)
    internal = fields.BooleanField(default=False)
    source: Source | None = fields.JSONField(null=True)
    sdgs: fields.ManyToManyRelation[SustainableDevelopmentGoal] = fields.ManyToManyField(
        "models.SustainableDevelopmentGoal", related_name="goals", through="goal_sdg"
    )

    targets: fields.ReverseRelation[Target]

    class Meta:
        table = "goal"
        unique_together = (("strategy", "code"),)


class TargetMetric(StrEnum):
    OCCURRENCES = "occurrences"
    HOURS = "hours"
    SHARE_OF_HOURS = "share_of_hours"
    ATTENDANCE = "attendance"


class Target(Model):
    """A measurable aim for a value or goal over a period, e.g. 24 sessions a year."""

    id = fields.IntField(primary_key=True)
    value: fields.ForeignKeyNullableRelation[StrategyValue] = fields.ForeignKeyField(
        "models.StrategyValue", related_name="targets", null=True, on_delete=fields.CASCADE
    )
    goal: fields.ForeignKeyNullableRelation[Goal] = fields.ForeignKeyField(
        "models.Goal", related_name="targets", null=True, on_delete=fields.CASCADE
    )
    metric = fields.CharEnumField(TargetMetric, max_length=16)
    # Per calendar year of the period; share_of_hours is a percentage (5 means 5 %).
    minimum = fields.FloatField()
    period_start: dt.date = fields.DateField()
    period_end: dt.date = fields.DateField()
    source: Source | None = fields.JSONField(null=True)

    class Meta:
        table = "target"
        constraints = (
            CheckConstraint(
                check="(value_id IS NULL) <> (goal_id IS NULL)", name="target_has_one_subject"
            ),
            CheckConstraint(check="minimum >= 0", name="target_minimum_not_negative"),
        )


class Statement(Model):
    """One statement of a strategy document (a paragraph or a point of its vision, mission,
    values or quality policy), in the document's order and words."""

    id = fields.IntField(primary_key=True)
    strategy: fields.ForeignKeyRelation[Strategy] = fields.ForeignKeyField(
        "models.Strategy", related_name="statements", on_delete=fields.CASCADE
    )
    key = fields.CharField(max_length=32)
    position = fields.SmallIntField(default=0)
    # vision, mission, values, introduction, quality_policy, …
    kind = fields.CharField(max_length=32)
    # The heading the statement stands under, as the document writes it.
    section = fields.CharField(max_length=200)
    text: Translated = fields.JSONField()
    source: Source | None = fields.JSONField(null=True)

    class Meta:
        table = "strategy_statement"
        unique_together = (("strategy", "key"),)
