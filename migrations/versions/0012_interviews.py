"""interviews, their interviewers (no one double-booked) and scorecards; interview mail

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 01:10:57

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('interviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('duration_minutes', sa.Integer(), nullable=False),
    sa.Column('location', sa.String(length=200), nullable=True),
    sa.Column('meeting_url', sa.String(length=2000), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('sequence', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('scheduled', 'cancelled')", name=op.f('ck_interviews_status')),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_interviews_ends_after_start')),
    sa.ForeignKeyConstraint(['application_id'], ['applications.id'], name=op.f('fk_interviews_application_id_applications'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_interviews_company_id_companies')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_interviews_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_interviews'))
    )
    with op.batch_alter_table('interviews', schema=None) as batch_op:
        batch_op.create_index('ix_interviews_application_id_starts_at', ['application_id', 'starts_at'], unique=False)
        batch_op.create_index('ix_interviews_company_id_starts_at_id', ['company_id', 'starts_at', 'id'], unique=False)
        batch_op.create_index('ix_interviews_starts_at_id', ['starts_at', 'id'], unique=False)

    op.create_table('interview_interviewers',
    sa.Column('interview_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.ForeignKeyConstraint(['interview_id'], ['interviews.id'], name=op.f('fk_interview_interviewers_interview_id_interviews'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_interview_interviewers_user_id_users')),
    sa.PrimaryKeyConstraint('interview_id', 'user_id', name=op.f('pk_interview_interviewers'))
    )
    with op.batch_alter_table('interview_interviewers', schema=None) as batch_op:
        batch_op.create_index('ix_interview_interviewers_user_id_starts_at', ['user_id', 'starts_at', 'interview_id'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        # No interviewer in two active interviews whose times overlap, whatever races: the
        # database refuses the second row (SQLSTATE 23P01). btree_gist gives GiST the "=" on
        # an integer; it is a trusted extension (PostgreSQL 13+), and downgrade leaves it.
        # SQLite has one writer at a time: the application checks inside its transaction.
        op.execute('CREATE EXTENSION IF NOT EXISTS btree_gist')
        op.execute('ALTER TABLE interview_interviewers ADD CONSTRAINT '
                   'ex_interview_interviewers_user_id_time EXCLUDE USING gist '
                   '(user_id WITH =, tstzrange(starts_at, ends_at) WITH &&) WHERE (active)')

    op.create_table('scorecards',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('interview_id', sa.Integer(), nullable=False),
    sa.Column('interviewer_id', sa.Integer(), nullable=False),
    sa.Column('rating', sa.Integer(), nullable=False),
    sa.Column('recommendation', sa.String(length=20), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("recommendation IN ('strong_no', 'no', 'yes', 'strong_yes')", name=op.f('ck_scorecards_recommendation')),
    sa.CheckConstraint('rating BETWEEN 1 AND 4', name=op.f('ck_scorecards_rating')),
    sa.ForeignKeyConstraint(['interview_id'], ['interviews.id'], name=op.f('fk_scorecards_interview_id_interviews'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['interviewer_id'], ['users.id'], name=op.f('fk_scorecards_interviewer_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scorecards')),
    sa.UniqueConstraint('interview_id', 'interviewer_id', name=op.f('uq_scorecards_interview_id_interviewer_id'))
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('interview_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('interview_sequence', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('send_after', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_notifications_interview_id', ['interview_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_notifications_interview_id_interviews'), 'interviews', ['interview_id'], ['id'])



def downgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_notifications_interview_id_interviews'), type_='foreignkey')
        batch_op.drop_index('ix_notifications_interview_id')
        batch_op.drop_column('send_after')
        batch_op.drop_column('interview_sequence')
        batch_op.drop_column('interview_id')

    op.drop_table('scorecards')
    with op.batch_alter_table('interview_interviewers', schema=None) as batch_op:
        batch_op.drop_index('ix_interview_interviewers_user_id_starts_at')

    op.drop_table('interview_interviewers')
    with op.batch_alter_table('interviews', schema=None) as batch_op:
        batch_op.drop_index('ix_interviews_starts_at_id')
        batch_op.drop_index('ix_interviews_company_id_starts_at_id')
        batch_op.drop_index('ix_interviews_application_id_starts_at')

    op.drop_table('interviews')
