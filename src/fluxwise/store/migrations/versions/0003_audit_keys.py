"""A record nobody can change unnoticed: audit key ids on entries and on the head (with the store's
id), keyed MACs on signatures, and result deletions as rows of their own (result rows are never
updated any more, so the ``deleted_*`` columns move to ``result_deletions``).

Sealing the trail under a key and installing the triggers that refuse UPDATE and DELETE on the
protected tables are not done here but by :func:`fluxwise.store.database.migrate` after every upgrade
to the newest revision (sealing needs the key, which lives outside the database; and a SQLite table
rebuild in a later migration drops its table's triggers, which are then put back).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('audit_entries', sa.Column('key_id', sa.String(length=16), nullable=True))
    op.add_column('audit_head', sa.Column('store_id', sa.String(length=32), nullable=True))
    op.add_column('audit_head', sa.Column('key_id', sa.String(length=16), nullable=True))
    op.add_column('signatures', sa.Column('key_id', sa.String(length=16), nullable=True))
    op.add_column('signatures', sa.Column('mac', sa.String(length=64), nullable=True))
    op.create_table('result_deletions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('result_id', sa.String(length=32), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('deleted_by_id', sa.Integer(), nullable=True),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['deleted_by_id'], ['users.id'],
            name=op.f('fk_result_deletions_deleted_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_result_deletions')),
        sa.UniqueConstraint('result_id', name=op.f('uq_result_deletions_result_id'))
    )
    op.execute("INSERT INTO result_deletions (result_id, version, deleted_at, deleted_by_id, reason) "
               "SELECT result_id, version, deleted_at, deleted_by_id, COALESCE(delete_reason, '') "
               "FROM results WHERE deleted_at IS NOT NULL")
    with op.batch_alter_table('results') as batch:
        batch.drop_constraint(op.f('fk_results_deleted_by_id_users'), type_='foreignkey')
        batch.drop_column('delete_reason')
        batch.drop_column('deleted_by_id')
        batch.drop_column('deleted_at')


def downgrade() -> None:
    from fluxwise.store import protection

    conn = op.get_bind()
    if conn.exec_driver_sql("SELECT count(*) FROM audit_entries WHERE key_id IS NOT NULL").scalar():
        raise RuntimeError("this store's trail is sealed under an audit key; going back to a schema "
                           "without keys would leave entries nobody can verify")
    protection.remove(conn)
    with op.batch_alter_table('results') as batch:
        batch.add_column(sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('deleted_by_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('delete_reason', sa.Text(), nullable=True))
        batch.create_foreign_key(op.f('fk_results_deleted_by_id_users'), 'users', ['deleted_by_id'], ['id'])
    op.execute("UPDATE results SET deleted_at = (SELECT d.deleted_at FROM result_deletions d "
               "WHERE d.result_id = results.result_id), deleted_by_id = (SELECT d.deleted_by_id FROM "
               "result_deletions d WHERE d.result_id = results.result_id), delete_reason = (SELECT d.reason "
               "FROM result_deletions d WHERE d.result_id = results.result_id) WHERE version = (SELECT "
               "d.version FROM result_deletions d WHERE d.result_id = results.result_id)")
    op.drop_table('result_deletions')
    op.drop_column('signatures', 'mac')
    op.drop_column('signatures', 'key_id')
    op.drop_column('audit_head', 'key_id')
    op.drop_column('audit_head', 'store_id')
    op.drop_column('audit_entries', 'key_id')
