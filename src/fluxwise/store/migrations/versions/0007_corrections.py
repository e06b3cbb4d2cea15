"""Corrections in the page: a trial's column mapping kept with its other read settings, soft deletion of
uploads and trials, and restoration of anything soft-deleted — each a row of its own, never an update.

- ``trials.columns_input``: the role -> column (and unit) mapping the trial was read with (canonical
  JSON), or null for columns detected from the headers.
- ``deletions``: the soft deletion of an upload or a trial (who, when, why; ``caused_by_id`` points at
  the deletion of the upload that took a trial with it).
- ``restorations``: an admin's restoration of a deleted upload, trial or result (who, when, why). An
  object is deleted while it has more deletions than restorations.
- ``result_deletions.result_id`` is no longer unique: a result restored can be deleted again. On
  SQLite that rebuilds the table (copy, drop, rename); its protection triggers are put back by
  :func:`fluxwise.store.database.migrate`, which also installs them on the two new tables.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('trials', sa.Column('columns_input', sa.Text(), nullable=True))
    op.create_table('deletions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('object_type', sa.String(length=16), nullable=False),
        sa.Column('object_id', sa.String(length=32), nullable=False),
        sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('deleted_by_id', sa.Integer(), nullable=True),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('caused_by_id', sa.Integer(), nullable=True),
        sa.CheckConstraint("object_type IN ('upload', 'trial')", name=op.f('ck_deletions_object_type')),
        sa.ForeignKeyConstraint(['deleted_by_id'], ['users.id'],
                                name=op.f('fk_deletions_deleted_by_id_users')),
        sa.ForeignKeyConstraint(['caused_by_id'], ['deletions.id'],
                                name=op.f('fk_deletions_caused_by_id_deletions')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_deletions')),
    )
    op.create_index(op.f('ix_deletions_object_id'), 'deletions', ['object_id'])
    op.create_table('restorations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('object_type', sa.String(length=16), nullable=False),
        sa.Column('object_id', sa.String(length=32), nullable=False),
        sa.Column('restored_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('restored_by_id', sa.Integer(), nullable=True),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.CheckConstraint("object_type IN ('upload', 'trial', 'result')",
                           name=op.f('ck_restorations_object_type')),
        sa.ForeignKeyConstraint(['restored_by_id'], ['users.id'],
                                name=op.f('fk_restorations_restored_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_restorations')),
    )
    op.create_index(op.f('ix_restorations_object_id'), 'restorations', ['object_id'])
    with op.batch_alter_table('result_deletions') as batch:
        batch.drop_constraint(op.f('uq_result_deletions_result_id'), type_='unique')
        batch.create_index(op.f('ix_result_deletions_result_id'), ['result_id'])


def downgrade() -> None:
    from fluxwise.store import protection

    conn = op.get_bind()
    if conn.exec_driver_sql("SELECT count(*) FROM restorations").scalar() or conn.exec_driver_sql(
            "SELECT count(*) FROM deletions").scalar():
        raise RuntimeError("this store holds deletions of uploads or trials, or restorations, that the older "
                           "schema cannot hold; it cannot go back without losing them")
    protection.remove(conn)
    with op.batch_alter_table('result_deletions') as batch:
        batch.drop_index(op.f('ix_result_deletions_result_id'))
        batch.create_unique_constraint(op.f('uq_result_deletions_result_id'), ['result_id'])
    op.drop_index(op.f('ix_restorations_object_id'), table_name='restorations')
    op.drop_table('restorations')
    op.drop_index(op.f('ix_deletions_object_id'), table_name='deletions')
    op.drop_table('deletions')
    op.drop_column('trials', 'columns_input')
