"""Consent across organisations and security events: invitations (a member or a project share offered
to another organisation, accepted by the other side), the audit actions of security events and trail
reviews, the idle time and first signature of browser sessions, and the original (Unicode) name of
uploads.

The audit action constraint is replaced; on SQLite that rebuilds ``audit_entries`` (copy, drop,
rename) with its rows and their order unchanged.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

OLD_ACTIONS = "action IN ('create', 'update', 'delete', 'sign', 'login')"
NEW_ACTIONS = ("action IN ('create', 'update', 'delete', 'sign', 'login', 'logout', 'login_failed', "
               "'sign_failed', 'lockout', 'unlock', 'review')")


def upgrade() -> None:
    op.create_table('invitations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('public_id', sa.String(length=32), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('org_id', sa.Integer(), nullable=False),
        sa.Column('project_id', sa.Integer(), nullable=True),
        sa.Column('email', sa.String(length=320), nullable=True),
        sa.Column('target_org_public_id', sa.String(length=32), nullable=True),
        sa.Column('role', sa.String(length=16), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('answered_by_id', sa.Integer(), nullable=True),
        sa.CheckConstraint("kind IN ('member', 'share')", name=op.f('ck_invitations_kind')),
        sa.CheckConstraint("status IN ('pending', 'accepted', 'declined', 'revoked')",
                           name=op.f('ck_invitations_status')),
        sa.CheckConstraint("(kind = 'member' AND email IS NOT NULL AND role IS NOT NULL) OR "
                           "(kind = 'share' AND project_id IS NOT NULL AND target_org_public_id IS NOT NULL)",
                           name=op.f('ck_invitations_target')),
        sa.ForeignKeyConstraint(['org_id'], ['organisations.id'],
                                name=op.f('fk_invitations_org_id_organisations')),
        sa.ForeignKeyConstraint(['project_id'], ['projects.id'],
                                name=op.f('fk_invitations_project_id_projects')),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'],
                                name=op.f('fk_invitations_created_by_id_users')),
        sa.ForeignKeyConstraint(['answered_by_id'], ['users.id'],
                                name=op.f('fk_invitations_answered_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_invitations')),
        sa.UniqueConstraint('public_id', name=op.f('uq_invitations_public_id'))
    )
    op.create_index(op.f('ix_invitations_org_id'), 'invitations', ['org_id'])
    op.create_index(op.f('ix_invitations_project_id'), 'invitations', ['project_id'])
    op.create_index(op.f('ix_invitations_email'), 'invitations', ['email'])
    op.create_index(op.f('ix_invitations_target_org_public_id'), 'invitations', ['target_org_public_id'])
    op.add_column('browser_sessions', sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('browser_sessions', sa.Column('first_signed_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('uploads', sa.Column('original_filename', sa.String(length=255), nullable=True))
    with op.batch_alter_table('audit_entries') as batch:
        batch.drop_constraint(op.f('ck_audit_entries_action'), type_='check')
        batch.create_check_constraint(op.f('ck_audit_entries_action'), NEW_ACTIONS)


def downgrade() -> None:
    conn = op.get_bind()
    if conn.exec_driver_sql("SELECT count(*) FROM audit_entries WHERE action NOT IN "
                            "('create', 'update', 'delete', 'sign', 'login')").scalar():
        raise RuntimeError("the audit trail holds security events or reviews that the older schema cannot "
                           "hold; it cannot go back without losing them")
    with op.batch_alter_table('audit_entries') as batch:
        batch.drop_constraint(op.f('ck_audit_entries_action'), type_='check')
        batch.create_check_constraint(op.f('ck_audit_entries_action'), OLD_ACTIONS)
    op.drop_column('uploads', 'original_filename')
    op.drop_column('browser_sessions', 'first_signed_at')
    op.drop_column('browser_sessions', 'last_seen_at')
    op.drop_table('invitations')
