"""registration counts

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 18:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.core.db

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('registration_count_snapshots',
    sa.Column('season_id', sa.Integer(), nullable=False),
    sa.Column('computed_at', backend.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('registrations', sa.Integer(), nullable=False),
    sa.Column('duration_ms', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['season_id'], ['seasons.id'], name=op.f('fk_registration_count_snapshots_season_id_seasons'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('season_id', name=op.f('pk_registration_count_snapshots'))
    )
    op.create_table('registration_counts',
    sa.Column('season_id', sa.Integer(), nullable=False),
    sa.Column('dimension', sa.String(length=16), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('active', sa.Integer(), nullable=False),
    sa.CheckConstraint("dimension IN ('status', 'basis', 'category', 'town', 'day', 'hour')", name=op.f('ck_registration_counts_known_dimension')),
    sa.CheckConstraint('active >= 0 AND active <= total', name=op.f('ck_registration_counts_active_within_total')),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_registration_counts_school_id_schools'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['season_id'], ['seasons.id'], name=op.f('fk_registration_counts_season_id_seasons'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('season_id', 'dimension', 'school_id', 'key', name=op.f('pk_registration_counts'))
    )


def downgrade() -> None:
    op.drop_table('registration_counts')
    op.drop_table('registration_count_snapshots')
