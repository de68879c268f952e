"""Staff users get a session epoch: signing out revokes every copy of their session cookie."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0003_attendance_unique_session')]

    initial = False

    operations = [
        ops.AddField(
            model_name='StaffUser',
            name='session_epoch',
            field=fields.IntField(default=0, db_default=0),
        ),
    ]
