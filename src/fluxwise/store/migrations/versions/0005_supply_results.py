"""Supply studies saved into a project: results of kind 'supply', which come from an uploaded plan
file and the files it names, not from a trial (like train designs, ``trial_id`` and
``trial_revision`` are null for them).

On SQLite the table is rebuilt (copy, drop, rename) with foreign keys off; the protection triggers the
rebuild drops are put back by :func:`fluxwise.store.database.migrate` after the upgrade.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('results') as batch:
        batch.drop_constraint(op.f('ck_results_kind'), type_='check')
        batch.drop_constraint(op.f('ck_results_trial'), type_='check')
        batch.create_check_constraint(op.f('ck_results_kind'), "kind IN ('fit', 'sizing', 'train', 'supply')")
        batch.create_check_constraint(
            op.f('ck_results_trial'),
            "kind IN ('train', 'supply') OR (trial_id IS NOT NULL AND trial_revision IS NOT NULL)")


def downgrade() -> None:
    conn = op.get_bind()
    if conn.exec_driver_sql("SELECT count(*) FROM results WHERE kind = 'supply'").scalar():
        raise RuntimeError("this store holds supply studies; a schema without them cannot keep them "
                           "(results are never deleted)")
    with op.batch_alter_table('results') as batch:
        batch.drop_constraint(op.f('ck_results_trial'), type_='check')
        batch.drop_constraint(op.f('ck_results_kind'), type_='check')
        batch.create_check_constraint(op.f('ck_results_kind'), "kind IN ('fit', 'sizing', 'train')")
        batch.create_check_constraint(
            op.f('ck_results_trial'),
            "kind = 'train' OR (trial_id IS NOT NULL AND trial_revision IS NOT NULL)")
