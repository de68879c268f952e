"""Registration for events with limited places, and the outbox of notices (issue 14).

- ``registration_policy``: that an event takes registrations (per occurrence or for the
  whole series), when they open and close, the largest party, whether age bands are asked.
- ``capacity_override``: the places of one occurrence, keyed by its original start.
- ``registration``: one party's place; its personal fields (name, email, the links'
  secret) are emptied on erasure, the counts stay.
- ``notice``: emails owed to people, written in the transaction of the change that
  causes them and delivered by the outbox worker, once per ``dedupe_key``.

Only tables are added; the way back drops just them.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from outreach.models.registration import NoticeStatus, RegistrationScope, RegistrationStatus
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index
from tortoise.migrations.constraints import CheckConstraint

class Migration(migrations.Migration):
    dependencies = [('models', '0011_outreach_services')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CapacityOverride',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('event', fields.ForeignKeyField('models.Event', source_field='event_id', db_constraint=True, to_field='id', related_name='capacity_overrides', on_delete=OnDelete.CASCADE)),
                ('original_start', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('capacity', fields.IntField()),
            ],
            options={'table': 'capacity_override', 'app': 'models', 'unique_together': (('event', 'original_start'),), 'constraints': [CheckConstraint(check='capacity >= 0', name='capacity_override_not_negative')], 'pk_attr': 'id', 'table_description': "The places of one occurrence when they differ from the event's (a smaller room)."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Registration',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('event', fields.ForeignKeyField('models.Event', source_field='event_id', db_constraint=True, to_field='id', related_name='registrations', on_delete=OnDelete.CASCADE)),
                ('library', fields.ForeignKeyField('models.Library', source_field='library_id', db_constraint=True, to_field='id', related_name='registrations', on_delete=OnDelete.CASCADE)),
                ('original_start', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('status', fields.CharEnumField(description='CONFIRMED: confirmed\nWAITLISTED: waitlisted\nCANCELLED: cancelled\nATTENDED: attended\nNO_SHOW: no_show', enum_type=RegistrationStatus, max_length=16)),
                ('party_size', fields.SmallIntField()),
                ('age_bands', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('name', fields.CharField(null=True, max_length=100)),
                ('email', fields.CharField(null=True, max_length=254)),
                ('language', fields.CharField(max_length=8)),
                ('secret', fields.CharField(null=True, max_length=32)),
                ('registered_by_staff', fields.BooleanField(default=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('decided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('erased_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'registration', 'app': 'models', 'constraints': [CheckConstraint(check='party_size >= 1', name='registration_party_positive'), CheckConstraint(check='(erased_at IS NULL) OR (name IS NULL AND email IS NULL AND secret IS NULL)', name='registration_erased_means_empty')], 'indexes': [Index(fields=['event_id', 'original_start', 'status'], name='registration_occurrence_status'), Index(fields=['erased_at', 'event_id'], name='registration_erasure')], 'pk_attr': 'id', 'table_description': "One party's place at an occurrence (or at every occurrence of a series)."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Notice',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('dedupe_key', fields.CharField(unique=True, max_length=200)),
                ('library', fields.ForeignKeyField('models.Library', source_field='library_id', null=True, db_constraint=True, to_field='id', related_name='notices', on_delete=OnDelete.CASCADE)),
                ('registration', fields.ForeignKeyField('models.Registration', source_field='registration_id', null=True, db_constraint=True, to_field='id', related_name='notices', on_delete=OnDelete.SET_NULL)),
                ('template', fields.CharField(max_length=64)),
                ('language', fields.CharField(max_length=8)),
                ('recipient', fields.CharField(null=True, max_length=254)),
                ('subject', fields.CharField(null=True, max_length=300)),
                ('text', fields.TextField(null=True, unique=False)),
                ('html', fields.TextField(null=True, unique=False)),
                ('attachments', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('message_id', fields.CharField(unique=True, max_length=200)),
                ('status', fields.CharEnumField(default=NoticeStatus.PENDING, description='PENDING: pending\nSENT: sent\nFAILED: failed\nDROPPED: dropped', enum_type=NoticeStatus, max_length=16)),
                ('attempts', fields.SmallIntField(default=0)),
                ('due_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('claimed_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_error', fields.CharField(default='', max_length=200)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'notice', 'app': 'models', 'indexes': [Index(fields=['status', 'due_at'], name='notice_due'), Index(fields=['library_id', 'created_at'], name='notice_library_created')], 'pk_attr': 'id', 'table_description': 'An email owed to someone, written in the transaction of the change that causes it'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RegistrationPolicy',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('event', fields.OneToOneField('models.Event', source_field='event_id', db_constraint=True, to_field='id', related_name='registration_policy', on_delete=OnDelete.CASCADE)),
                ('scope', fields.CharEnumField(default=RegistrationScope.OCCURRENCE, description='OCCURRENCE: occurrence\nSERIES: series', enum_type=RegistrationScope, max_length=16)),
                ('opens_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('closes_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('closes_before_minutes', fields.IntField(default=0)),
                ('max_party', fields.SmallIntField(default=4)),
                ('asks_age_bands', fields.BooleanField(default=False)),
                ('waitlist', fields.BooleanField(default=True)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'registration_policy', 'app': 'models', 'constraints': [CheckConstraint(check='closes_before_minutes >= 0', name='registration_policy_closes_before'), CheckConstraint(check='max_party >= 1', name='registration_policy_max_party')], 'pk_attr': 'id', 'table_description': 'That an event takes registrations, and how: one row per event that does.'},
            bases=['Model'],
        ),
    ]
