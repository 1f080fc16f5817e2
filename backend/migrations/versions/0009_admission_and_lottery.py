"""admission and lottery

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28 18:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.core.db

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('admission_priority_tiers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('season_id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('label', sa.String(length=100), nullable=False),
    sa.Column('rule', sa.JSON(), nullable=False),
    sa.Column('created_at', backend.core.db.UTCDateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('updated_at', backend.core.db.UTCDateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.CheckConstraint('rank >= 1', name=op.f('ck_admission_priority_tiers_rank_positive')),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_admission_priority_tiers_school_id_schools'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['season_id'], ['seasons.id'], name=op.f('fk_admission_priority_tiers_season_id_seasons'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_admission_priority_tiers')),
    sa.UniqueConstraint('season_id', 'school_id', 'key', name=op.f('uq_admission_priority_tiers_season_id_school_id_key')),
    sa.UniqueConstraint('season_id', 'school_id', 'rank', name=op.f('uq_admission_priority_tiers_season_id_school_id_rank'))
    )
    with op.batch_alter_table('admission_priority_tiers', schema=None) as batch_op:
        batch_op.create_index('ix_admission_priority_tiers_school_id', ['school_id'], unique=False)

    op.create_table('admission_seat_counts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('season_id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('seats', sa.Integer(), nullable=False),
    sa.Column('taken', sa.Integer(), server_default='0', nullable=False),
    sa.CheckConstraint('taken <= seats', name=op.f('ck_admission_seat_counts_taken_within_seats')),
    sa.CheckConstraint('taken >= 0', name=op.f('ck_admission_seat_counts_taken_not_negative')),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_admission_seat_counts_school_id_schools'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['season_id'], ['seasons.id'], name=op.f('fk_admission_seat_counts_season_id_seasons'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_admission_seat_counts')),
    sa.UniqueConstraint('season_id', 'school_id', name=op.f('uq_admission_seat_counts_season_id_school_id'))
    )
    with op.batch_alter_table('admission_seat_counts', schema=None) as batch_op:
        batch_op.create_index('ix_admission_seat_counts_school_id', ['school_id'], unique=False)

    op.create_table('admission_list_publications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('season_id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('published_at', backend.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('published_by_user_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['published_by_user_id'], ['users.id'], name=op.f('fk_admission_list_publications_published_by_user_id_users')),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_admission_list_publications_school_id_schools'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['season_id'], ['seasons.id'], name=op.f('fk_admission_list_publications_season_id_seasons'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_admission_list_publications')),
    sa.UniqueConstraint('season_id', 'school_id', name=op.f('uq_admission_list_publications_season_id_school_id'))
    )
    with op.batch_alter_table('admission_list_publications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_admission_list_publications_school_id'), ['school_id'], unique=False)

    op.create_table('admission_lotteries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('season_id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('is_practice', sa.Boolean(), nullable=False),
    sa.Column('status', sa.Enum('frozen', 'drawn', 'settled', 'cancelled', name='lottery_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('algorithm_version', sa.String(length=40), nullable=False),
    sa.Column('seats', sa.Integer(), nullable=False),
    sa.Column('applicant_count', sa.Integer(), nullable=False),
    sa.Column('committed', sa.JSON(), nullable=False),
    sa.Column('commitment', sa.String(length=64), nullable=False),
    sa.Column('public_value_source', sa.String(length=200), nullable=False),
    sa.Column('public_value', sa.String(length=200), nullable=True),
    sa.Column('seed', sa.String(length=64), nullable=True),
    sa.Column('frozen_at', backend.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('frozen_by_user_id', sa.Integer(), nullable=True),
    sa.Column('drawn_at', backend.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('drawn_by_user_id', sa.Integer(), nullable=True),
    sa.Column('published_at', backend.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('respond_by', backend.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('cancel_reason', sa.Text(), nullable=True),
    sa.Column('created_at', backend.core.db.UTCDateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('updated_at', backend.core.db.UTCDateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.CheckConstraint("(status = 'drawn') = (seed IS NOT NULL)", name=op.f('ck_admission_lotteries_seed_iff_drawn')),
    sa.CheckConstraint('NOT (is_practice AND published_at IS NOT NULL)', name=op.f('ck_admission_lotteries_practice_never_published')),
    sa.CheckConstraint('seats >= 0', name=op.f('ck_admission_lotteries_seats_not_negative')),
    sa.ForeignKeyConstraint(['drawn_by_user_id'], ['users.id'], name=op.f('fk_admission_lotteries_drawn_by_user_id_users')),
    sa.ForeignKeyConstraint(['frozen_by_user_id'], ['users.id'], name=op.f('fk_admission_lotteries_frozen_by_user_id_users')),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_admission_lotteries_school_id_schools')),
    sa.ForeignKeyConstraint(['season_id'], ['seasons.id'], name=op.f('fk_admission_lotteries_season_id_seasons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_admission_lotteries'))
    )
    with op.batch_alter_table('admission_lotteries', schema=None) as batch_op:
        batch_op.create_index('ix_admission_lotteries_school_id', ['school_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_admission_lotteries_season_id'), ['season_id'], unique=False)
        batch_op.create_index('uq_admission_lotteries_real_school_season', ['season_id', 'school_id'], unique=True, postgresql_where=sa.text("is_practice = false AND status <> 'cancelled'"), sqlite_where=sa.text("is_practice = 0 AND status <> 'cancelled'"))

    op.create_table('admission_lottery_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lottery_id', sa.Integer(), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('child_id', sa.Integer(), nullable=False),
    sa.Column('pseudonym', sa.String(length=32), nullable=False),
    sa.Column('tier', sa.Integer(), nullable=False),
    sa.Column('masked_name', sa.String(length=64), nullable=False),
    sa.Column('position', sa.Integer(), nullable=True),
    sa.Column('outcome', sa.Enum('admitted', 'waitlisted', name='lottery_entry_outcome', native_enum=False, create_constraint=True, length=32), nullable=True),
    sa.CheckConstraint('(position IS NULL) = (outcome IS NULL)', name=op.f('ck_admission_lottery_entries_position_iff_outcome')),
    sa.ForeignKeyConstraint(['child_id'], ['children.id'], name=op.f('fk_admission_lottery_entries_child_id_children')),
    sa.ForeignKeyConstraint(['lottery_id'], ['admission_lotteries.id'], name=op.f('fk_admission_lottery_entries_lottery_id_admission_lotteries'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['registration_id'], ['registrations.id'], name=op.f('fk_admission_lottery_entries_registration_id_registrations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_admission_lottery_entries')),
    sa.UniqueConstraint('lottery_id', 'position', name=op.f('uq_admission_lottery_entries_lottery_id_position')),
    sa.UniqueConstraint('lottery_id', 'pseudonym', name=op.f('uq_admission_lottery_entries_lottery_id_pseudonym')),
    sa.UniqueConstraint('lottery_id', 'registration_id', name=op.f('uq_admission_lottery_entries_lottery_id_registration_id'))
    )
    with op.batch_alter_table('admission_lottery_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_admission_lottery_entries_child_id'), ['child_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_admission_lottery_entries_registration_id'), ['registration_id'], unique=False)

    op.create_table('admission_offers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('season_id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('child_id', sa.Integer(), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('lottery_id', sa.Integer(), nullable=True),
    sa.Column('lottery_entry_id', sa.Integer(), nullable=True),
    sa.Column('source', sa.Enum('lottery', 'waitlist', 'bureau_placement', name='offer_source', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('status', sa.Enum('offered', 'confirmed', 'declined', 'expired', 'withdrawn', name='offer_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('respond_by', backend.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decided_at', backend.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decided_by_user_id', sa.Integer(), nullable=True),
    sa.Column('decided_by_role', sa.String(length=32), nullable=True),
    sa.Column('created_by_user_id', sa.Integer(), nullable=True),
    sa.Column('placement_reason', sa.Text(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_at', backend.core.db.UTCDateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('updated_at', backend.core.db.UTCDateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.CheckConstraint("(status = 'offered') = (decided_at IS NULL)", name=op.f('ck_admission_offers_decided_iff_not_offered')),
    sa.CheckConstraint("source <> 'bureau_placement' OR placement_reason IS NOT NULL", name=op.f('ck_admission_offers_placement_has_reason')),
    sa.CheckConstraint("source = 'bureau_placement' OR lottery_entry_id IS NOT NULL", name=op.f('ck_admission_offers_lottery_offers_have_entry')),
    sa.ForeignKeyConstraint(['child_id'], ['children.id'], name=op.f('fk_admission_offers_child_id_children')),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['users.id'], name=op.f('fk_admission_offers_created_by_user_id_users')),
    sa.ForeignKeyConstraint(['decided_by_user_id'], ['users.id'], name=op.f('fk_admission_offers_decided_by_user_id_users')),
    sa.ForeignKeyConstraint(['lottery_entry_id'], ['admission_lottery_entries.id'], name=op.f('fk_admission_offers_lottery_entry_id_admission_lottery_entries')),
    sa.ForeignKeyConstraint(['lottery_id'], ['admission_lotteries.id'], name=op.f('fk_admission_offers_lottery_id_admission_lotteries')),
    sa.ForeignKeyConstraint(['registration_id'], ['registrations.id'], name=op.f('fk_admission_offers_registration_id_registrations')),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_admission_offers_school_id_schools')),
    sa.ForeignKeyConstraint(['season_id'], ['seasons.id'], name=op.f('fk_admission_offers_season_id_seasons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_admission_offers'))
    )
    with op.batch_alter_table('admission_offers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_admission_offers_child_id'), ['child_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_admission_offers_lottery_id'), ['lottery_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_admission_offers_registration_id'), ['registration_id'], unique=False)
        batch_op.create_index('ix_admission_offers_school_season_status', ['school_id', 'season_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_admission_offers_season_id'), ['season_id'], unique=False)
        batch_op.create_index('uq_admission_offers_live_child_season', ['season_id', 'child_id'], unique=True, postgresql_where=sa.text("status IN ('offered', 'confirmed')"), sqlite_where=sa.text("status IN ('offered', 'confirmed')"))
        batch_op.create_index('uq_admission_offers_lottery_entry_id', ['lottery_entry_id'], unique=True, postgresql_where=sa.text('lottery_entry_id IS NOT NULL'), sqlite_where=sa.text('lottery_entry_id IS NOT NULL'))


def downgrade() -> None:
    with op.batch_alter_table('admission_offers', schema=None) as batch_op:
        batch_op.drop_index('uq_admission_offers_lottery_entry_id', postgresql_where=sa.text('lottery_entry_id IS NOT NULL'), sqlite_where=sa.text('lottery_entry_id IS NOT NULL'))
        batch_op.drop_index('uq_admission_offers_live_child_season', postgresql_where=sa.text("status IN ('offered', 'confirmed')"), sqlite_where=sa.text("status IN ('offered', 'confirmed')"))
        batch_op.drop_index(batch_op.f('ix_admission_offers_season_id'))
        batch_op.drop_index('ix_admission_offers_school_season_status')
        batch_op.drop_index(batch_op.f('ix_admission_offers_registration_id'))
        batch_op.drop_index(batch_op.f('ix_admission_offers_lottery_id'))
        batch_op.drop_index(batch_op.f('ix_admission_offers_child_id'))

    op.drop_table('admission_offers')
    with op.batch_alter_table('admission_lottery_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_admission_lottery_entries_registration_id'))
        batch_op.drop_index(batch_op.f('ix_admission_lottery_entries_child_id'))

    op.drop_table('admission_lottery_entries')
    with op.batch_alter_table('admission_lotteries', schema=None) as batch_op:
        batch_op.drop_index('uq_admission_lotteries_real_school_season', postgresql_where=sa.text("is_practice = false AND status <> 'cancelled'"), sqlite_where=sa.text("is_practice = 0 AND status <> 'cancelled'"))
        batch_op.drop_index(batch_op.f('ix_admission_lotteries_season_id'))
        batch_op.drop_index('ix_admission_lotteries_school_id')

    op.drop_table('admission_lotteries')
    with op.batch_alter_table('admission_list_publications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_admission_list_publications_school_id'))

    op.drop_table('admission_list_publications')
    with op.batch_alter_table('admission_seat_counts', schema=None) as batch_op:
        batch_op.drop_index('ix_admission_seat_counts_school_id')

    op.drop_table('admission_seat_counts')
    with op.batch_alter_table('admission_priority_tiers', schema=None) as batch_op:
        batch_op.drop_index('ix_admission_priority_tiers_school_id')

    op.drop_table('admission_priority_tiers')
