"""staff-entered registrations (代报名) and claim codes

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 09:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.core.db

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_PARENT_CHECK = "role <> 'parent' OR (openid IS NOT NULL AND username IS NULL)"
NEW_PARENT_CHECK = ("role <> 'parent' OR (username IS NULL AND "
                    "(openid IS NOT NULL OR created_by_user_id IS NOT NULL))")


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('created_by_user_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_users_created_by_user_id_users'), 'users',
                                    ['created_by_user_id'], ['id'])
        batch_op.drop_constraint(batch_op.f('ck_users_parent_has_openid'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_users_parent_has_openid_or_creator'),
                                         NEW_PARENT_CHECK)

    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('entered_by_user_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_registrations_entered_by_user_id_users'),
                                    'users', ['entered_by_user_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_registrations_entered_by_user_id'),
                              ['entered_by_user_id'], unique=False)

    op.create_table('claim_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('family_user_id', sa.Integer(), nullable=False),
    sa.Column('code_index', sa.String(length=64), nullable=False),
    sa.Column('expires_at', backend.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('issued_by_user_id', sa.Integer(), nullable=False),
    sa.Column('issued_at', backend.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('claimed_at', backend.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('claimed_by_user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', backend.core.db.UTCDateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('updated_at', backend.core.db.UTCDateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.CheckConstraint('(claimed_at IS NULL) = (claimed_by_user_id IS NULL)', name=op.f('ck_claim_codes_claimed_with_claimer')),
    sa.ForeignKeyConstraint(['claimed_by_user_id'], ['users.id'], name=op.f('fk_claim_codes_claimed_by_user_id_users')),
    sa.ForeignKeyConstraint(['family_user_id'], ['users.id'], name=op.f('fk_claim_codes_family_user_id_users')),
    sa.ForeignKeyConstraint(['issued_by_user_id'], ['users.id'], name=op.f('fk_claim_codes_issued_by_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_claim_codes')),
    sa.UniqueConstraint('code_index', name=op.f('uq_claim_codes_code_index')),
    sa.UniqueConstraint('family_user_id', name=op.f('uq_claim_codes_family_user_id'))
    )


def downgrade() -> None:
    op.drop_table('claim_codes')
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_registrations_entered_by_user_id'))
        batch_op.drop_constraint(batch_op.f('fk_registrations_entered_by_user_id_users'),
                                 type_='foreignkey')
        batch_op.drop_column('entered_by_user_id')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_users_parent_has_openid_or_creator'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_users_parent_has_openid'), OLD_PARENT_CHECK)
        batch_op.drop_constraint(batch_op.f('fk_users_created_by_user_id_users'),
                                 type_='foreignkey')
        batch_op.drop_column('created_by_user_id')
