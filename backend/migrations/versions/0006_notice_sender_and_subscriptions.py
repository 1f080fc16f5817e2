"""notice sender and subscriptions

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 18:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.core.db

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_STATUSES = ('pending', 'sent', 'not_subscribed', 'failed', 'uncertain')
NEW_STATUSES = ('pending', 'sending', 'sent', 'not_subscribed', 'failed', 'uncertain')


def _status(values: tuple[str, ...]) -> sa.Enum:
    return sa.Enum(*values, name='notice_status', native_enum=False, create_constraint=True,
                   length=32)


def upgrade() -> None:
    op.create_table('subscription_credits',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('template_key', sa.String(length=40), nullable=False),
    sa.Column('credits', sa.Integer(), nullable=False),
    sa.Column('updated_at', backend.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('credits >= 0', name=op.f('ck_subscription_credits_credits_not_negative')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_subscription_credits_user_id_users')),
    sa.PrimaryKeyConstraint('user_id', 'template_key', name=op.f('pk_subscription_credits'))
    )
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('next_attempt_at', backend.core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('claimed_at', backend.core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('sending_at', backend.core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('read_at', backend.core.db.UTCDateTime(timezone=True), nullable=True))
        # The CHECK constraint of the status enum gains 'sending'.
        batch_op.alter_column('status', existing_type=_status(OLD_STATUSES),
                              type_=_status(NEW_STATUSES), existing_nullable=False)


def downgrade() -> None:
    # A notice caught mid-send cannot be sent again (at most once): it becomes uncertain.
    op.execute("UPDATE notices SET status = 'uncertain' WHERE status = 'sending'")
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.alter_column('status', existing_type=_status(NEW_STATUSES),
                              type_=_status(OLD_STATUSES), existing_nullable=False)
        batch_op.drop_column('read_at')
        batch_op.drop_column('sending_at')
        batch_op.drop_column('claimed_at')
        batch_op.drop_column('claimed_by')
        batch_op.drop_column('next_attempt_at')

    op.drop_table('subscription_credits')
