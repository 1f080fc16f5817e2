"""verification counts: the count snapshot keeps, per school, registrations all verified by
government data sources and those needing documents

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-08 02:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = "dimension IN ('status', 'basis', 'category', 'town', 'day', 'hour')"
NEW = "dimension IN ('status', 'basis', 'category', 'town', 'day', 'hour', 'verification')"


def upgrade() -> None:
    with op.batch_alter_table('registration_counts', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_registration_counts_known_dimension'),
                                 type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_registration_counts_known_dimension'),
                                         NEW)


def downgrade() -> None:
    op.execute("DELETE FROM registration_counts WHERE dimension = 'verification'")
    with op.batch_alter_table('registration_counts', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_registration_counts_known_dimension'),
                                 type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_registration_counts_known_dimension'),
                                         OLD)
