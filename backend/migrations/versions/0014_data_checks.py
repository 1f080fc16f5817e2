"""data checks: the family's consent to government data checks, one check per child and fact

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-08 01:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.core.db

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHANNELS = ('mini_program', 'pc', 'counter')
FACTS = ('household', 'property', 'residence_permit', 'birth')
STATUSES = ('pending', 'confirmed', 'not_found', 'mismatch', 'unavailable')


def upgrade() -> None:
    op.create_table('data_check_consents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('child_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.String(length=32), nullable=False),
    sa.Column('channel', sa.Enum(*CHANNELS, name='data_check_channel', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('agreed_at', backend.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("version <> ''", name=op.f('ck_data_check_consents_version_not_empty')),
    sa.ForeignKeyConstraint(['child_id'], ['children.id'], name=op.f('fk_data_check_consents_child_id_children')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_data_check_consents_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_data_check_consents'))
    )
    with op.batch_alter_table('data_check_consents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_data_check_consents_child_id'), ['child_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_data_check_consents_user_id'), ['user_id'], unique=False)

    op.create_table('data_checks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('child_id', sa.Integer(), nullable=False),
    sa.Column('fact', sa.Enum(*FACTS, name='data_check_fact', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('status', sa.Enum(*STATUSES, name='data_check_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('source', sa.String(length=100), nullable=True),
    sa.Column('reference', sa.String(length=100), nullable=True),
    sa.Column('checked_at', backend.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.Column('address', sa.String(length=200), nullable=True),
    sa.Column('region_code', sa.String(length=12), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', backend.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', backend.core.db.UTCDateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('updated_at', backend.core.db.UTCDateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.CheckConstraint('attempts >= 0', name=op.f('ck_data_checks_attempts_not_negative')),
    sa.ForeignKeyConstraint(['child_id'], ['children.id'], name=op.f('fk_data_checks_child_id_children')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_data_checks')),
    sa.UniqueConstraint('child_id', 'fact', name=op.f('uq_data_checks_child_id_fact'))
    )
    with op.batch_alter_table('data_checks', schema=None) as batch_op:
        batch_op.create_index('ix_data_checks_due', ['next_attempt_at'], unique=False,
                              postgresql_where=sa.text('next_attempt_at IS NOT NULL'),
                              sqlite_where=sa.text('next_attempt_at IS NOT NULL'))


def downgrade() -> None:
    with op.batch_alter_table('data_checks', schema=None) as batch_op:
        batch_op.drop_index('ix_data_checks_due')
    op.drop_table('data_checks')
    with op.batch_alter_table('data_check_consents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_data_check_consents_user_id'))
        batch_op.drop_index(batch_op.f('ix_data_check_consents_child_id'))
    op.drop_table('data_check_consents')
