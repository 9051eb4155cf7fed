"""reports: stage_stays, the history with each entry's company, job, creation time and end

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 06:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

REPORTED = ['from_stage', 'reason', 'applied_at', 'job_id', 'entered_at']

# Each history entry's stay, its end the application's next entry (as ats.reports.stays.rebuild).
BACKFILL = """
INSERT INTO stage_stays (history_id, application_id, company_id, job_id, applied_at, from_stage,
                         stage, reason, entered_at, left_at, seconds)
SELECT id, application_id, company_id, job_id, created_at, from_stage, to_stage, reason,
       changed_at, left_at, {seconds}
FROM (SELECT h.id, h.application_id, a.company_id, a.job_id, a.created_at, h.from_stage,
             h.to_stage, h.reason, h.changed_at,
             lead(h.changed_at) OVER (PARTITION BY h.application_id ORDER BY h.id) AS left_at
      FROM application_history h JOIN applications a ON a.id = h.application_id) AS entries
"""
SECONDS = {
    'postgresql': 'CAST(EXTRACT(EPOCH FROM left_at - changed_at) AS FLOAT)',
    'sqlite': '(julianday(left_at) - julianday(changed_at)) * 86400.0',
}


def upgrade():
    op.create_table('stage_stays',
    sa.Column('history_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=False),
    sa.Column('applied_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('from_stage', sa.String(length=20), nullable=True),
    sa.Column('stage', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.String(length=40), nullable=True),
    sa.Column('entered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('left_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('seconds', sa.Double(), nullable=True),
    sa.ForeignKeyConstraint(['application_id'], ['applications.id'], name=op.f('fk_stage_stays_application_id_applications'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['history_id'], ['application_history.id'], name=op.f('fk_stage_stays_history_id_application_history'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('history_id', name=op.f('pk_stage_stays'))
    )
    bind = op.get_bind()
    op.execute(BACKFILL.format(seconds=SECONDS[bind.dialect.name]))
    with op.batch_alter_table('stage_stays', schema=None) as batch_op:
        batch_op.create_index('ix_stage_stays_application_id', ['application_id'], unique=False)
        batch_op.create_index('ix_stage_stays_company_id_stage_seconds', ['company_id', 'stage', 'seconds'], unique=False, postgresql_include=REPORTED)
        batch_op.create_index('ix_stage_stays_job_id_stage_seconds', ['job_id', 'stage', 'seconds'], unique=False, postgresql_include=['company_id', *REPORTED])
        batch_op.create_index('ix_stage_stays_stage_seconds', ['stage', 'seconds'], unique=False, postgresql_include=REPORTED)


def downgrade():
    op.drop_table('stage_stays')
