"""indexes for every list filter: stage filters, job title search

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21 10:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == 'postgresql':
        # trigram GIN index for ILIKE '%q%'; pg_trgm is a trusted extension (PostgreSQL 13+):
        # the database owner may create it. Downgrade leaves it: other schemas may use it.
        op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.create_index('ix_applications_stage_id', ['stage', 'id'], unique=False)
        batch_op.create_index('ix_applications_company_id_stage_id', ['company_id', 'stage', 'id'], unique=False)
        batch_op.create_index('ix_applications_job_id_stage_id', ['job_id', 'stage', 'id'], unique=False)

    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.create_index('ix_jobs_title_search', ['title'], unique=False,
                              postgresql_using='gin', postgresql_ops={'title': 'gin_trgm_ops'})


def downgrade():
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_jobs_title_search')

    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.drop_index('ix_applications_job_id_stage_id')
        batch_op.drop_index('ix_applications_company_id_stage_id')
        batch_op.drop_index('ix_applications_stage_id')
