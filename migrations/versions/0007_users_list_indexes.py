"""indexes for the admins' users list: role and is_active filters, name and email search

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    # pg_trgm exists since 0004 (the jobs' title search)
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_index('ix_users_role_id', ['role', 'id'], unique=False)
        batch_op.create_index('ix_users_is_active_id', ['is_active', 'id'], unique=False)
        batch_op.create_index('ix_users_name_search', ['name'], unique=False,
                              postgresql_using='gin', postgresql_ops={'name': 'gin_trgm_ops'})
        batch_op.create_index('ix_users_email_search', ['email'], unique=False,
                              postgresql_using='gin', postgresql_ops={'email': 'gin_trgm_ops'})


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index('ix_users_email_search')
        batch_op.drop_index('ix_users_name_search')
        batch_op.drop_index('ix_users_is_active_id')
        batch_op.drop_index('ix_users_role_id')
