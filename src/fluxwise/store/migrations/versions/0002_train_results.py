"""Saved train designs: results of kind 'train', which come from uploaded files and not from a trial
(``trial_id`` and ``trial_revision`` may be null for them, and only for them).

On SQLite the table is rebuilt (copy, drop, rename), with foreign keys off while it runs (see
:func:`fluxwise.store.database.migrate`).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('results') as batch:
        batch.drop_constraint(op.f('ck_results_kind'), type_='check')
        batch.alter_column('trial_id', existing_type=sa.Integer(), nullable=True)
        batch.alter_column('trial_revision', existing_type=sa.Integer(), nullable=True)
        batch.create_check_constraint(op.f('ck_results_kind'), "kind IN ('fit', 'sizing', 'train')")
        batch.create_check_constraint(
            op.f('ck_results_trial'),
            "kind = 'train' OR (trial_id IS NOT NULL AND trial_revision IS NOT NULL)")


def downgrade() -> None:
    op.execute("DELETE FROM signatures WHERE result_version_id IN "
               "(SELECT id FROM results WHERE kind = 'train')")
    op.execute("DELETE FROM results WHERE kind = 'train'")
    with op.batch_alter_table('results') as batch:
        batch.drop_constraint(op.f('ck_results_trial'), type_='check')
        batch.drop_constraint(op.f('ck_results_kind'), type_='check')
        batch.alter_column('trial_revision', existing_type=sa.Integer(), nullable=False)
        batch.alter_column('trial_id', existing_type=sa.Integer(), nullable=False)
        batch.create_check_constraint(op.f('ck_results_kind'), "kind IN ('fit', 'sizing')")
