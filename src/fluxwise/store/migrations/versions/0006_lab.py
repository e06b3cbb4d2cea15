"""The virtual lab's store: scenario versions, cohorts, attempts with their rig files, and the
instructor-signed training records ("TRAINING - SIMULATED", kept apart from the audit trail).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('lab_scenario_versions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('public_id', sa.String(length=32), nullable=False),
        sa.Column('org_id', sa.Integer(), nullable=False),
        sa.Column('scenario_id', sa.String(length=100), nullable=False),
        sa.Column('title', sa.String(length=300), nullable=False),
        sa.Column('level', sa.String(length=16), nullable=False),
        sa.Column('version_hash', sa.String(length=64), nullable=False),
        sa.Column('yaml_text', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('locked_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['org_id'], ['organisations.id'],
                                name=op.f('fk_lab_scenario_versions_org_id_organisations')),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'],
                                name=op.f('fk_lab_scenario_versions_created_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_lab_scenario_versions')),
        sa.UniqueConstraint('public_id', name=op.f('uq_lab_scenario_versions_public_id')),
        sa.UniqueConstraint('org_id', 'version_hash', name='uq_lab_scenario_versions_org_hash'),
    )
    op.create_index(op.f('ix_lab_scenario_versions_org_id'), 'lab_scenario_versions', ['org_id'])
    op.create_table('lab_cohorts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('public_id', sa.String(length=32), nullable=False),
        sa.Column('org_id', sa.Integer(), nullable=False),
        sa.Column('instructor_id', sa.Integer(), nullable=False),
        sa.Column('scenario_version_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('mode', sa.String(length=16), nullable=False),
        sa.Column('attempt_limit', sa.Integer(), nullable=True),
        sa.Column('time_limit_h', sa.Float(), nullable=True),
        sa.Column('pass_mark', sa.Float(), nullable=False),
        sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("mode IN ('practice', 'assessment')", name=op.f('ck_lab_cohorts_mode')),
        sa.ForeignKeyConstraint(['org_id'], ['organisations.id'],
                                name=op.f('fk_lab_cohorts_org_id_organisations')),
        sa.ForeignKeyConstraint(['instructor_id'], ['users.id'],
                                name=op.f('fk_lab_cohorts_instructor_id_users')),
        sa.ForeignKeyConstraint(['scenario_version_id'], ['lab_scenario_versions.id'],
                                name=op.f('fk_lab_cohorts_scenario_version_id_lab_scenario_versions')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_lab_cohorts')),
        sa.UniqueConstraint('public_id', name=op.f('uq_lab_cohorts_public_id')),
    )
    op.create_index(op.f('ix_lab_cohorts_org_id'), 'lab_cohorts', ['org_id'])
    op.create_index(op.f('ix_lab_cohorts_scenario_version_id'), 'lab_cohorts', ['scenario_version_id'])
    op.create_table('lab_attempts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('public_id', sa.String(length=32), nullable=False),
        sa.Column('cohort_id', sa.Integer(), nullable=False),
        sa.Column('trainee_id', sa.Integer(), nullable=False),
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('state', sa.Text(), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('score', sa.Float(), nullable=True),
        sa.Column('passed', sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(['cohort_id'], ['lab_cohorts.id'],
                                name=op.f('fk_lab_attempts_cohort_id_lab_cohorts')),
        sa.ForeignKeyConstraint(['trainee_id'], ['users.id'],
                                name=op.f('fk_lab_attempts_trainee_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_lab_attempts')),
        sa.UniqueConstraint('public_id', name=op.f('uq_lab_attempts_public_id')),
    )
    op.create_index(op.f('ix_lab_attempts_cohort_id'), 'lab_attempts', ['cohort_id'])
    op.create_index(op.f('ix_lab_attempts_trainee_id'), 'lab_attempts', ['trainee_id'])
    op.create_table('lab_run_files',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('attempt_id', sa.Integer(), nullable=False),
        sa.Column('run', sa.Integer(), nullable=False),
        sa.Column('filename', sa.String(length=255), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('content', sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(['attempt_id'], ['lab_attempts.id'],
                                name=op.f('fk_lab_run_files_attempt_id_lab_attempts')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_lab_run_files')),
        sa.UniqueConstraint('attempt_id', 'run', name='uq_lab_run_files_attempt_run'),
    )
    op.create_index(op.f('ix_lab_run_files_attempt_id'), 'lab_run_files', ['attempt_id'])
    op.create_table('lab_training_records',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('public_id', sa.String(length=32), nullable=False),
        sa.Column('attempt_id', sa.Integer(), nullable=False),
        sa.Column('org_id', sa.Integer(), nullable=False),
        sa.Column('trainee_id', sa.Integer(), nullable=False),
        sa.Column('trainee_name', sa.String(length=200), nullable=False),
        sa.Column('scenario_id', sa.String(length=100), nullable=False),
        sa.Column('version_hash', sa.String(length=64), nullable=False),
        sa.Column('grader_version', sa.String(length=32), nullable=False),
        sa.Column('score', sa.Float(), nullable=False),
        sa.Column('completed_on', sa.DateTime(timezone=True), nullable=False),
        sa.Column('signed_by_id', sa.Integer(), nullable=False),
        sa.Column('signer_name', sa.String(length=200), nullable=False),
        sa.Column('signed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('label', sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(['attempt_id'], ['lab_attempts.id'],
                                name=op.f('fk_lab_training_records_attempt_id_lab_attempts')),
        sa.ForeignKeyConstraint(['org_id'], ['organisations.id'],
                                name=op.f('fk_lab_training_records_org_id_organisations')),
        sa.ForeignKeyConstraint(['trainee_id'], ['users.id'],
                                name=op.f('fk_lab_training_records_trainee_id_users')),
        sa.ForeignKeyConstraint(['signed_by_id'], ['users.id'],
                                name=op.f('fk_lab_training_records_signed_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_lab_training_records')),
        sa.UniqueConstraint('public_id', name=op.f('uq_lab_training_records_public_id')),
        sa.UniqueConstraint('attempt_id', name=op.f('uq_lab_training_records_attempt_id')),
    )
    op.create_index(op.f('ix_lab_training_records_org_id'), 'lab_training_records', ['org_id'])


def downgrade() -> None:
    op.drop_table('lab_training_records')
    op.drop_table('lab_run_files')
    op.drop_table('lab_attempts')
    op.drop_table('lab_cohorts')
    op.drop_table('lab_scenario_versions')
