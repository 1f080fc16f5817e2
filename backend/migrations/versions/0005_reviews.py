"""reviews: registration version and fix deadline, the bureau_review status

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 18:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.core.db


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_STATUSES = ('submitted', 'under_review', 'returned', 'approved', 'rejected', 'withdrawn')
NEW_STATUSES = ('submitted', 'under_review', 'returned', 'bureau_review', 'approved',
                'rejected', 'withdrawn')
# (table, enum name): the str_enum CHECK constraints that list the statuses.
STATUS_COLUMNS = (('registrations', 'registration_status'),
                  ('registration_events', 'registration_event_status'))


def _status(name: str, values: tuple[str, ...]) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


def _in_list(values: tuple[str, ...]) -> str:
    return 'status IN (' + ', '.join(f"'{v}'" for v in values) + ')'


def _sqlite_swap_check(table: str, old: tuple[str, ...], new: tuple[str, ...]) -> None:
    # A batch "recreate" drops the old registrations table, and with foreign keys on, SQLite
    # runs ON DELETE CASCADE for that drop: every event and document link would be lost.
    # SQLite documents editing the stored CREATE TABLE text for changes that leave the
    # rows untouched (https://www.sqlite.org/lang_altertable.html#otheralter), which is
    # what changing the list of allowed statuses is, once no row holds a removed value.
    conn = op.get_bind()
    sql = conn.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).scalar()
    if sql is None or sql.count(_in_list(old)) != 1:
        raise RuntimeError(f'{table}: status CHECK constraint not found as expected')
    version = int(conn.exec_driver_sql('PRAGMA schema_version').scalar() or 0)
    conn.exec_driver_sql('PRAGMA writable_schema = ON')
    conn.exec_driver_sql("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?",
                         (sql.replace(_in_list(old), _in_list(new)), table))
    conn.exec_driver_sql(f'PRAGMA schema_version = {version + 1}')
    conn.exec_driver_sql('PRAGMA writable_schema = OFF')
    problems = conn.exec_driver_sql('PRAGMA integrity_check').scalars().all()
    if problems != ['ok']:
        raise RuntimeError(f'{table}: integrity check failed after the schema edit')


def _swap_statuses(old: tuple[str, ...], new: tuple[str, ...]) -> None:
    for table, name in STATUS_COLUMNS:
        if op.get_bind().dialect.name == 'sqlite':
            _sqlite_swap_check(table, old, new)
            continue
        # Elsewhere: altering the column's Enum type drops and recreates its CHECK constraint.
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column('status', existing_type=_status(name, old),
                                  type_=_status(name, new), existing_nullable=False)


def upgrade() -> None:
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        # A plain default ('1', not an expression) lets SQLite add the column in place.
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('fix_deadline', backend.core.db.UTCDateTime(timezone=True), nullable=True))
    _swap_statuses(OLD_STATUSES, NEW_STATUSES)


def downgrade() -> None:
    # Awaiting the bureau becomes "under review" again: the old constraint has no such state.
    op.execute("UPDATE registrations SET status = 'under_review' WHERE status = 'bureau_review'")
    op.execute("UPDATE registration_events SET status = 'under_review' "
               "WHERE status = 'bureau_review'")
    _swap_statuses(NEW_STATUSES, OLD_STATUSES)
    # Not in batch mode: on SQLite a batch drop recreates the table, and the drop of the old
    # table would cascade to the events (see above); SQLite 3.35+ drops columns in place.
    op.drop_column('registrations', 'fix_deadline')
    op.drop_column('registrations', 'version')
