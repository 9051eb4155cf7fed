"""incremental sync: the commit-order clock of updated_at, (updated_at, id) indexes per lister

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 02:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('sync_clock',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sync_clock'))
    )
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.create_index('ix_jobs_updated_at_id', ['updated_at', 'id'], unique=False)
        batch_op.create_index('ix_jobs_status_updated_at_id', ['status', 'updated_at', 'id'], unique=False)
        batch_op.create_index('ix_jobs_company_id_updated_at_id', ['company_id', 'updated_at', 'id'], unique=False)
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.create_index('ix_applications_updated_at_id', ['updated_at', 'id'], unique=False)
        batch_op.create_index('ix_applications_company_id_updated_at_id', ['company_id', 'updated_at', 'id'], unique=False)
        batch_op.create_index('ix_applications_candidate_id_updated_at_id', ['candidate_id', 'updated_at', 'id'], unique=False)
        batch_op.create_index('ix_applications_job_id_updated_at_id', ['job_id', 'updated_at', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.drop_index('ix_applications_job_id_updated_at_id')
        batch_op.drop_index('ix_applications_candidate_id_updated_at_id')
        batch_op.drop_index('ix_applications_company_id_updated_at_id')
        batch_op.drop_index('ix_applications_updated_at_id')
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_jobs_company_id_updated_at_id')
        batch_op.drop_index('ix_jobs_status_updated_at_id')
        batch_op.drop_index('ix_jobs_updated_at_id')
    op.drop_table('sync_clock')
