"""the pipeline's withdrawal, and reasons on history

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 23:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

OLD_STAGES = "stage IN ('applied', 'screening', 'interview', 'offer', 'hired', 'rejected')"
NEW_STAGES = "stage IN ('applied', 'screening', 'interview', 'offer', 'hired', 'rejected', 'withdrawn')"


def _stages(check):
    # SQLite rebuilds the table in batch mode; the CHECK is replaced under its own name
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_applications_stage'), type_='check')
        batch_op.create_check_constraint(op.f('ck_applications_stage'), check)


def upgrade():
    with op.batch_alter_table('application_history', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reason', sa.String(length=40), nullable=True))
    _stages(NEW_STAGES)


def downgrade():
    # a withdrawn application has no stage to go back to in the old schema: it becomes rejected
    op.execute("UPDATE applications SET stage = 'rejected' WHERE stage = 'withdrawn'")
    _stages(OLD_STAGES)
    with op.batch_alter_table('application_history', schema=None) as batch_op:
        batch_op.drop_column('reason')
