"""onsite slots and classes

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28 18:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.core.db

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('class_assignments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('season_id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('committed', 'published', 'cancelled', name='class_assignment_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('scope', sa.Enum('checked_in', 'confirmed', name='class_pupil_scope', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('rules_version', sa.String(length=40), nullable=False),
    sa.Column('classes', sa.Integer(), nullable=False),
    sa.Column('class_size', sa.Integer(), nullable=False),
    sa.Column('pupil_count', sa.Integer(), nullable=False),
    sa.Column('committed', sa.JSON(), nullable=False),
    sa.Column('commitment', sa.String(length=64), nullable=False),
    sa.Column('members', sa.JSON(), nullable=False),
    sa.Column('public_value_source', sa.String(length=200), nullable=False),
    sa.Column('public_value', sa.String(length=200), nullable=True),
    sa.Column('seed', sa.String(length=64), nullable=True),
    sa.Column('committed_at', backend.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('committed_by_user_id', sa.Integer(), nullable=False),
    sa.Column('published_at', backend.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('published_by_user_id', sa.Integer(), nullable=True),
    sa.Column('cancel_reason', sa.Text(), nullable=True),
    sa.Column('corrections', sa.Integer(), server_default='0', nullable=False),
    sa.Column('created_at', backend.core.db.UTCDateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('updated_at', backend.core.db.UTCDateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.CheckConstraint("(status = 'published') = (seed IS NOT NULL)", name=op.f('ck_class_assignments_seed_iff_published')),
    sa.CheckConstraint('classes >= 1 AND class_size >= 1', name=op.f('ck_class_assignments_plan_positive')),
    sa.CheckConstraint('corrections >= 0', name=op.f('ck_class_assignments_corrections_not_negative')),
    sa.ForeignKeyConstraint(['committed_by_user_id'], ['users.id'], name=op.f('fk_class_assignments_committed_by_user_id_users')),
    sa.ForeignKeyConstraint(['published_by_user_id'], ['users.id'], name=op.f('fk_class_assignments_published_by_user_id_users')),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_class_assignments_school_id_schools')),
    sa.ForeignKeyConstraint(['season_id'], ['seasons.id'], name=op.f('fk_class_assignments_season_id_seasons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_class_assignments'))
    )
    with op.batch_alter_table('class_assignments', schema=None) as batch_op:
        batch_op.create_index('ix_class_assignments_school_id', ['school_id'], unique=False)
        batch_op.create_index('uq_class_assignments_live_school_season', ['season_id', 'school_id'], unique=True, postgresql_where=sa.text("status <> 'cancelled'"), sqlite_where=sa.text("status <> 'cancelled'"))

    op.create_table('class_together_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('season_id', sa.Integer(), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.Column('created_by_user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', backend.core.db.UTCDateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('updated_at', backend.core.db.UTCDateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['users.id'], name=op.f('fk_class_together_requests_created_by_user_id_users')),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_class_together_requests_school_id_schools')),
    sa.ForeignKeyConstraint(['season_id'], ['seasons.id'], name=op.f('fk_class_together_requests_season_id_seasons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_class_together_requests'))
    )
    with op.batch_alter_table('class_together_requests', schema=None) as batch_op:
        batch_op.create_index('ix_class_together_requests_school_season', ['school_id', 'season_id'], unique=False)

    op.create_table('onsite_slots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('season_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', backend.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', backend.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('place', sa.String(length=200), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('booked', sa.Integer(), server_default='0', nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('created_by_user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', backend.core.db.UTCDateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('updated_at', backend.core.db.UTCDateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.CheckConstraint('booked >= 0 AND booked <= capacity', name=op.f('ck_onsite_slots_booked_within_capacity')),
    sa.CheckConstraint('capacity >= 1', name=op.f('ck_onsite_slots_capacity_positive')),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_onsite_slots_slot_order')),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['users.id'], name=op.f('fk_onsite_slots_created_by_user_id_users')),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_onsite_slots_school_id_schools')),
    sa.ForeignKeyConstraint(['season_id'], ['seasons.id'], name=op.f('fk_onsite_slots_season_id_seasons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_onsite_slots'))
    )
    with op.batch_alter_table('onsite_slots', schema=None) as batch_op:
        batch_op.create_index('ix_onsite_slots_school_season_starts', ['school_id', 'season_id', 'starts_at'], unique=False)

    op.create_table('class_placements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assignment_id', sa.Integer(), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('pseudonym', sa.String(length=32), nullable=False),
    sa.Column('drawn_class_no', sa.Integer(), nullable=False),
    sa.Column('class_no', sa.Integer(), nullable=True),
    sa.CheckConstraint('class_no IS NULL OR class_no >= 1', name=op.f('ck_class_placements_class_no_positive')),
    sa.CheckConstraint('drawn_class_no >= 1', name=op.f('ck_class_placements_drawn_class_no_positive')),
    sa.ForeignKeyConstraint(['assignment_id'], ['class_assignments.id'], name=op.f('fk_class_placements_assignment_id_class_assignments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['registration_id'], ['registrations.id'], name=op.f('fk_class_placements_registration_id_registrations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_class_placements')),
    sa.UniqueConstraint('assignment_id', 'pseudonym', name=op.f('uq_class_placements_assignment_id_pseudonym')),
    sa.UniqueConstraint('assignment_id', 'registration_id', name=op.f('uq_class_placements_assignment_id_registration_id'))
    )
    with op.batch_alter_table('class_placements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_class_placements_registration_id'), ['registration_id'], unique=False)

    op.create_table('class_together_members',
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['registration_id'], ['registrations.id'], name=op.f('fk_class_together_members_registration_id_registrations')),
    sa.ForeignKeyConstraint(['request_id'], ['class_together_requests.id'], name=op.f('fk_class_together_members_request_id_class_together_requests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('request_id', 'registration_id', name=op.f('pk_class_together_members')),
    sa.UniqueConstraint('registration_id', name=op.f('uq_class_together_members_registration_id'))
    )
    op.create_table('onsite_bookings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('slot_id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('season_id', sa.Integer(), nullable=False),
    sa.Column('nonce', sa.String(length=16), nullable=False),
    sa.Column('booked_by_user_id', sa.Integer(), nullable=False),
    sa.Column('booked_by_role', sa.String(length=32), nullable=False),
    sa.Column('checked_in_at', backend.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('checked_in_by_user_id', sa.Integer(), nullable=True),
    sa.Column('off_slot', sa.Boolean(), nullable=True),
    sa.Column('created_at', backend.core.db.UTCDateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('updated_at', backend.core.db.UTCDateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.CheckConstraint('(checked_in_at IS NULL) = (checked_in_by_user_id IS NULL)', name=op.f('ck_onsite_bookings_checkin_has_staff')),
    sa.ForeignKeyConstraint(['booked_by_user_id'], ['users.id'], name=op.f('fk_onsite_bookings_booked_by_user_id_users')),
    sa.ForeignKeyConstraint(['checked_in_by_user_id'], ['users.id'], name=op.f('fk_onsite_bookings_checked_in_by_user_id_users')),
    sa.ForeignKeyConstraint(['registration_id'], ['registrations.id'], name=op.f('fk_onsite_bookings_registration_id_registrations')),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_onsite_bookings_school_id_schools')),
    sa.ForeignKeyConstraint(['season_id'], ['seasons.id'], name=op.f('fk_onsite_bookings_season_id_seasons')),
    sa.ForeignKeyConstraint(['slot_id'], ['onsite_slots.id'], name=op.f('fk_onsite_bookings_slot_id_onsite_slots')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_onsite_bookings')),
    sa.UniqueConstraint('registration_id', name=op.f('uq_onsite_bookings_registration_id'))
    )
    with op.batch_alter_table('onsite_bookings', schema=None) as batch_op:
        batch_op.create_index('ix_onsite_bookings_school_season', ['school_id', 'season_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_onsite_bookings_slot_id'), ['slot_id'], unique=False)

    op.create_table('class_corrections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assignment_id', sa.Integer(), nullable=False),
    sa.Column('placement_id', sa.Integer(), nullable=False),
    sa.Column('from_class', sa.Integer(), nullable=True),
    sa.Column('to_class', sa.Integer(), nullable=True),
    sa.Column('reason_code', sa.String(length=40), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('corrected_by_user_id', sa.Integer(), nullable=False),
    sa.Column('corrected_at', backend.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['assignment_id'], ['class_assignments.id'], name=op.f('fk_class_corrections_assignment_id_class_assignments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['corrected_by_user_id'], ['users.id'], name=op.f('fk_class_corrections_corrected_by_user_id_users')),
    sa.ForeignKeyConstraint(['placement_id'], ['class_placements.id'], name=op.f('fk_class_corrections_placement_id_class_placements'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_class_corrections'))
    )
    with op.batch_alter_table('class_corrections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_class_corrections_assignment_id'), ['assignment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_class_corrections_placement_id'), ['placement_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('class_corrections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_class_corrections_placement_id'))
        batch_op.drop_index(batch_op.f('ix_class_corrections_assignment_id'))

    op.drop_table('class_corrections')
    with op.batch_alter_table('onsite_bookings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_onsite_bookings_slot_id'))
        batch_op.drop_index('ix_onsite_bookings_school_season')

    op.drop_table('onsite_bookings')
    op.drop_table('class_together_members')
    with op.batch_alter_table('class_placements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_class_placements_registration_id'))

    op.drop_table('class_placements')
    with op.batch_alter_table('onsite_slots', schema=None) as batch_op:
        batch_op.drop_index('ix_onsite_slots_school_season_starts')

    op.drop_table('onsite_slots')
    with op.batch_alter_table('class_together_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_class_together_requests_school_season')

    op.drop_table('class_together_requests')
    with op.batch_alter_table('class_assignments', schema=None) as batch_op:
        batch_op.drop_index('uq_class_assignments_live_school_season', postgresql_where=sa.text("status <> 'cancelled'"), sqlite_where=sa.text("status <> 'cancelled'"))
        batch_op.drop_index('ix_class_assignments_school_id')

    op.drop_table('class_assignments')
