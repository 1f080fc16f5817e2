"""guardian consents: every child points at its guardian's consent

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-10 09:00:00.000000

Children added before this revision get a consent record of their own labelled as legacy
(channel and version "legacy", no agreed_at): nobody agreed to a text then, and the
record says so. From this revision on, children.consent_id is NOT NULL, unique, and
points at a consent given by the child's own guardian.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.core.db

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHANNELS = ('mini_program', 'pc', 'counter', 'legacy')


def upgrade() -> None:
    op.create_table('guardian_consents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('guardian_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.String(length=32), nullable=False),
    sa.Column('agreed_at', backend.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('channel', sa.Enum(*CHANNELS, name='consent_channel', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('recorded_by_user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', backend.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("version <> ''", name=op.f('ck_guardian_consents_version_not_empty')),
    sa.CheckConstraint("(channel = 'legacy') = (version = 'legacy')", name=op.f('ck_guardian_consents_legacy_version')),
    sa.CheckConstraint("(channel = 'legacy') = (agreed_at IS NULL)", name=op.f('ck_guardian_consents_agreed_unless_legacy')),
    sa.CheckConstraint("(channel = 'counter') = (recorded_by_user_id IS NOT NULL)", name=op.f('ck_guardian_consents_counter_names_staff')),
    sa.ForeignKeyConstraint(['guardian_id'], ['guardians.id'], name=op.f('fk_guardian_consents_guardian_id_guardians')),
    sa.ForeignKeyConstraint(['recorded_by_user_id'], ['users.id'], name=op.f('fk_guardian_consents_recorded_by_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_guardian_consents')),
    sa.UniqueConstraint('id', 'guardian_id', name=op.f('uq_guardian_consents_id_guardian_id'))
    )
    with op.batch_alter_table('guardian_consents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_guardian_consents_guardian_id'), ['guardian_id'],
                              unique=False)

    with op.batch_alter_table('children', schema=None) as batch_op:
        batch_op.add_column(sa.Column('consent_id', sa.Integer(), nullable=True))

    # One legacy record per existing child, with the child's id (the table is new, so the
    # ids are free): each child then points at the record of the same number.
    op.execute("INSERT INTO guardian_consents "
               "(id, guardian_id, version, agreed_at, channel, recorded_by_user_id, created_at) "
               "SELECT id, guardian_id, 'legacy', NULL, 'legacy', NULL, CURRENT_TIMESTAMP "
               "FROM children")
    op.execute("UPDATE children SET consent_id = id")
    if op.get_bind().dialect.name == 'postgresql':
        # New consents are numbered after the legacy ones.
        op.execute("SELECT setval(pg_get_serial_sequence('guardian_consents', 'id'), "
                   "COALESCE((SELECT MAX(id) FROM guardian_consents), 0) + 1, false)")

    with op.batch_alter_table('children', schema=None) as batch_op:
        batch_op.alter_column('consent_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_children_consent_id'), ['consent_id'])
        batch_op.create_foreign_key(batch_op.f('fk_children_consent_id_guardian_consents'),
                                    'guardian_consents', ['consent_id', 'guardian_id'],
                                    ['id', 'guardian_id'])


def downgrade() -> None:
    with op.batch_alter_table('children', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_children_consent_id_guardian_consents'),
                                 type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_children_consent_id'), type_='unique')
        batch_op.drop_column('consent_id')
    with op.batch_alter_table('guardian_consents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_guardian_consents_guardian_id'))
    op.drop_table('guardian_consents')
