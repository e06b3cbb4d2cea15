"""Initial schema: tenants, users, projects, uploads, trials, versioned results, tokens,
sessions, signatures and the hash-chained audit trail.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_entries',
        sa.Column('seq', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('ts', sa.DateTime(timezone=True), nullable=False),
        sa.Column('actor_id', sa.String(length=32), nullable=True),
        sa.Column('actor_name', sa.String(length=200), nullable=False),
        sa.Column('org_id', sa.String(length=32), nullable=True),
        sa.Column('project_id', sa.String(length=32), nullable=True),
        sa.Column('action', sa.String(length=16), nullable=False),
        sa.Column('object_type', sa.String(length=32), nullable=False),
        sa.Column('object_id', sa.String(length=100), nullable=False),
        sa.Column('old_value', sa.Text(), nullable=True),
        sa.Column('new_value', sa.Text(), nullable=True),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.Column('prev_hash', sa.String(length=64), nullable=False),
        sa.Column('hash', sa.String(length=64), nullable=False),
        sa.CheckConstraint("action IN ('create', 'update', 'delete', 'sign', 'login')",
            name=op.f('ck_audit_entries_action')),
        sa.PrimaryKeyConstraint('seq', name=op.f('pk_audit_entries'))
    )
    op.create_index(op.f('ix_audit_entries_object_id'), 'audit_entries', ['object_id'])
    op.create_index(op.f('ix_audit_entries_org_id'), 'audit_entries', ['org_id'])
    op.create_index(op.f('ix_audit_entries_project_id'), 'audit_entries', ['project_id'])
    audit_head = op.create_table('audit_head',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('hash', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_head'))
    )
    # The genesis link: the first entry's prev_hash is 64 zeros (fluxwise.store.audit.GENESIS_HASH).
    op.bulk_insert(audit_head, [{'id': 1, 'seq': 0, 'hash': '0' * 64}])
    op.create_table('login_failures',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key_sha256', sa.String(length=64), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_login_failures'))
    )
    op.create_index(op.f('ix_login_failures_at'), 'login_failures', ['at'])
    op.create_index(op.f('ix_login_failures_key_sha256'), 'login_failures', ['key_sha256'])
    op.create_table('organisations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('public_id', sa.String(length=32), nullable=False),
        sa.CheckConstraint("kind IN ('customer', 'hub')", name=op.f('ck_organisations_kind')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_organisations')),
        sa.UniqueConstraint('public_id', name=op.f('uq_organisations_public_id'))
    )
    op.create_table('settings',
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('value', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_settings'))
    )
    op.create_table('users',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('email', sa.String(length=320), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('password_hash', sa.String(length=200), nullable=False),
        sa.Column('is_active', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('public_id', sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
        sa.UniqueConstraint('email', name=op.f('uq_users_email')),
        sa.UniqueConstraint('public_id', name=op.f('uq_users_public_id'))
    )
    op.create_table('api_tokens',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('token_sha256', sa.String(length=64), nullable=False),
        sa.Column('prefix', sa.String(length=16), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('public_id', sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_tokens_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
        sa.UniqueConstraint('public_id', name=op.f('uq_api_tokens_public_id')),
        sa.UniqueConstraint('token_sha256', name=op.f('uq_api_tokens_token_sha256'))
    )
    op.create_index(op.f('ix_api_tokens_user_id'), 'api_tokens', ['user_id'])
    op.create_table('browser_sessions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key_sha256', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('csrf_token', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_browser_sessions_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_browser_sessions')),
        sa.UniqueConstraint('key_sha256', name=op.f('uq_browser_sessions_key_sha256'))
    )
    op.create_index(op.f('ix_browser_sessions_user_id'), 'browser_sessions', ['user_id'])
    op.create_table('memberships',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('org_id', sa.Integer(), nullable=False),
        sa.Column('role', sa.String(length=16), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("role IN ('admin', 'scientist', 'reviewer', 'trainee')",
            name=op.f('ck_memberships_role')),
        sa.ForeignKeyConstraint(['org_id'], ['organisations.id'],
            name=op.f('fk_memberships_org_id_organisations')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_memberships_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_memberships')),
        sa.UniqueConstraint('user_id', 'org_id', name='uq_memberships_user_org')
    )
    op.create_index(op.f('ix_memberships_org_id'), 'memberships', ['org_id'])
    op.create_index(op.f('ix_memberships_user_id'), 'memberships', ['user_id'])
    op.create_table('projects',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('org_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('public_id', sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'],
            name=op.f('fk_projects_created_by_id_users')),
        sa.ForeignKeyConstraint(['org_id'], ['organisations.id'],
            name=op.f('fk_projects_org_id_organisations')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_projects')),
        sa.UniqueConstraint('public_id', name=op.f('uq_projects_public_id'))
    )
    op.create_index(op.f('ix_projects_org_id'), 'projects', ['org_id'])
    op.create_table('project_shares',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('project_id', sa.Integer(), nullable=False),
        sa.Column('org_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'],
            name=op.f('fk_project_shares_created_by_id_users')),
        sa.ForeignKeyConstraint(['org_id'], ['organisations.id'],
            name=op.f('fk_project_shares_org_id_organisations')),
        sa.ForeignKeyConstraint(['project_id'], ['projects.id'],
            name=op.f('fk_project_shares_project_id_projects')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_project_shares')),
        sa.UniqueConstraint('project_id', 'org_id', name='uq_project_shares_project_org')
    )
    op.create_index(op.f('ix_project_shares_org_id'), 'project_shares', ['org_id'])
    op.create_index(op.f('ix_project_shares_project_id'), 'project_shares', ['project_id'])
    op.create_table('uploads',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('project_id', sa.Integer(), nullable=False),
        sa.Column('filename', sa.String(length=255), nullable=False),
        sa.Column('content_type', sa.String(length=200), nullable=False),
        sa.Column('size_bytes', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('content', sa.LargeBinary(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('public_id', sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_uploads_created_by_id_users')),
        sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_uploads_project_id_projects')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_uploads')),
        sa.UniqueConstraint('public_id', name=op.f('uq_uploads_public_id'))
    )
    op.create_index(op.f('ix_uploads_project_id'), 'uploads', ['project_id'])
    op.create_index(op.f('ix_uploads_sha256'), 'uploads', ['sha256'])
    op.create_table('trials',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('project_id', sa.Integer(), nullable=False),
        sa.Column('upload_id', sa.Integer(), nullable=False),
        sa.Column('area_input', sa.String(length=100), nullable=True),
        sa.Column('mode_input', sa.String(length=32), nullable=True),
        sa.Column('density_input', sa.String(length=100), nullable=True),
        sa.Column('area_m2', sa.Float(), nullable=False),
        sa.Column('mode', sa.String(length=32), nullable=False),
        sa.Column('points', sa.Integer(), nullable=False),
        sa.Column('data_json', sa.Text(), nullable=False),
        sa.Column('revision', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('public_id', sa.String(length=32), nullable=False),
        sa.CheckConstraint('revision >= 1', name=op.f('ck_trials_revision')),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_trials_created_by_id_users')),
        sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_trials_project_id_projects')),
        sa.ForeignKeyConstraint(['upload_id'], ['uploads.id'], name=op.f('fk_trials_upload_id_uploads')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_trials')),
        sa.UniqueConstraint('public_id', name=op.f('uq_trials_public_id'))
    )
    op.create_index(op.f('ix_trials_project_id'), 'trials', ['project_id'])
    op.create_index(op.f('ix_trials_upload_id'), 'trials', ['upload_id'])
    op.create_table('results',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('result_id', sa.String(length=32), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('project_id', sa.Integer(), nullable=False),
        sa.Column('trial_id', sa.Integer(), nullable=False),
        sa.Column('upload_id', sa.Integer(), nullable=False),
        sa.Column('trial_revision', sa.Integer(), nullable=False),
        sa.Column('inputs_json', sa.Text(), nullable=False),
        sa.Column('data_json', sa.Text(), nullable=False),
        sa.Column('origin', sa.String(length=16), nullable=False),
        sa.Column('notes', sa.Text(), nullable=False),
        sa.Column('content_sha256', sa.String(length=64), nullable=False),
        sa.Column('supersedes_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('deleted_by_id', sa.Integer(), nullable=True),
        sa.Column('delete_reason', sa.Text(), nullable=True),
        sa.Column('public_id', sa.String(length=32), nullable=False),
        sa.CheckConstraint("kind IN ('fit', 'sizing')", name=op.f('ck_results_kind')),
        sa.CheckConstraint('version >= 1', name=op.f('ck_results_version')),
        sa.CheckConstraint("origin IN ('computed', 'edited')", name=op.f('ck_results_origin')),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_results_created_by_id_users')),
        sa.ForeignKeyConstraint(['deleted_by_id'], ['users.id'], name=op.f('fk_results_deleted_by_id_users')),
        sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_results_project_id_projects')),
        sa.ForeignKeyConstraint(['supersedes_id'], ['results.id'],
            name=op.f('fk_results_supersedes_id_results')),
        sa.ForeignKeyConstraint(['trial_id'], ['trials.id'], name=op.f('fk_results_trial_id_trials')),
        sa.ForeignKeyConstraint(['upload_id'], ['uploads.id'], name=op.f('fk_results_upload_id_uploads')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_results')),
        sa.UniqueConstraint('public_id', name=op.f('uq_results_public_id')),
        sa.UniqueConstraint('result_id', 'version', name='uq_results_result_version')
    )
    op.create_index(op.f('ix_results_project_id'), 'results', ['project_id'])
    op.create_index(op.f('ix_results_result_id'), 'results', ['result_id'])
    op.create_index(op.f('ix_results_trial_id'), 'results', ['trial_id'])
    op.create_table('signatures',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('result_version_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('signer_name', sa.String(length=200), nullable=False),
        sa.Column('meaning', sa.String(length=16), nullable=False),
        sa.Column('content_sha256', sa.String(length=64), nullable=False),
        sa.Column('signed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('audit_seq', sa.Integer(), nullable=False),
        sa.Column('public_id', sa.String(length=32), nullable=False),
        sa.CheckConstraint("meaning IN ('author', 'review', 'approve')", name=op.f('ck_signatures_meaning')),
        sa.ForeignKeyConstraint(['result_version_id'], ['results.id'],
            name=op.f('fk_signatures_result_version_id_results')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_signatures_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_signatures')),
        sa.UniqueConstraint('public_id', name=op.f('uq_signatures_public_id'))
    )
    op.create_index(op.f('ix_signatures_result_version_id'), 'signatures', ['result_version_id'])

def downgrade() -> None:
    op.drop_index(op.f('ix_signatures_result_version_id'), table_name='signatures')
    op.drop_table('signatures')
    op.drop_index(op.f('ix_results_trial_id'), table_name='results')
    op.drop_index(op.f('ix_results_result_id'), table_name='results')
    op.drop_index(op.f('ix_results_project_id'), table_name='results')
    op.drop_table('results')
    op.drop_index(op.f('ix_trials_upload_id'), table_name='trials')
    op.drop_index(op.f('ix_trials_project_id'), table_name='trials')
    op.drop_table('trials')
    op.drop_index(op.f('ix_uploads_sha256'), table_name='uploads')
    op.drop_index(op.f('ix_uploads_project_id'), table_name='uploads')
    op.drop_table('uploads')
    op.drop_index(op.f('ix_project_shares_project_id'), table_name='project_shares')
    op.drop_index(op.f('ix_project_shares_org_id'), table_name='project_shares')
    op.drop_table('project_shares')
    op.drop_index(op.f('ix_projects_org_id'), table_name='projects')
    op.drop_table('projects')
    op.drop_index(op.f('ix_memberships_user_id'), table_name='memberships')
    op.drop_index(op.f('ix_memberships_org_id'), table_name='memberships')
    op.drop_table('memberships')
    op.drop_index(op.f('ix_browser_sessions_user_id'), table_name='browser_sessions')
    op.drop_table('browser_sessions')
    op.drop_index(op.f('ix_api_tokens_user_id'), table_name='api_tokens')
    op.drop_table('api_tokens')
    op.drop_table('users')
    op.drop_table('settings')
    op.drop_table('organisations')
    op.drop_index(op.f('ix_login_failures_key_sha256'), table_name='login_failures')
    op.drop_index(op.f('ix_login_failures_at'), table_name='login_failures')
    op.drop_table('login_failures')
    op.drop_table('audit_head')
    op.drop_index(op.f('ix_audit_entries_project_id'), table_name='audit_entries')
    op.drop_index(op.f('ix_audit_entries_org_id'), table_name='audit_entries')
    op.drop_index(op.f('ix_audit_entries_object_id'), table_name='audit_entries')
    op.drop_table('audit_entries')
