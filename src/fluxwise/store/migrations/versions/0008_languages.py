"""Languages: the language a user chose for the pages and an organisation's default language.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('users', sa.Column('language', sa.String(length=8), nullable=True))
    op.add_column('organisations', sa.Column('default_language', sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('organisations') as batch:
        batch.drop_column('default_language')
    with op.batch_alter_table('users') as batch:
        batch.drop_column('language')
