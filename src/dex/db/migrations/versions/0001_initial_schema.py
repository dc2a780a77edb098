"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-21

Every table of the seed system schema with dex's fixes: unique natural keys per org for entities,
composite (id, org_id) foreign keys that keep rows inside their org, text status vocabularies with CHECKs,
links from operation_runs to runs and steps, executor columns (available_at, lease), and indexes for
every lookup the API makes.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

TABLES_WITH_UPDATED_AT = (
    "orgs",
    "companies",
    "users",
    "api_tokens",
    "super_admins",
    "steps",
    "blueprints",
    "blueprint_steps",
    "submissions",
    "pipeline_runs",
    "step_results",
    "company_entities",
    "person_entities",
)

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "orgs",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("slug", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orgs")),
        sa.UniqueConstraint("slug", name=op.f("uq_orgs_slug")),
    )
    op.create_table(
        "steps",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("slug", sa.Text(), nullable=False),
        sa.Column("task_id", sa.Text(), server_default="execute-step", nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("step_type", sa.Text(), nullable=False),
        sa.Column(
            "default_config", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column("input_schema", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("output_schema", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("url", sa.Text(), server_default="https://example.invalid/step-endpoint", nullable=False),
        sa.Column("method", sa.Text(), server_default="POST", nullable=False),
        sa.Column("auth_type", sa.Text(), nullable=True),
        sa.Column(
            "auth_config", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column("payload_template", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("response_mapping", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("timeout_ms", sa.Integer(), server_default="30000", nullable=True),
        sa.Column(
            "retry_config",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default='{"max_attempts": 3, "backoff_factor": 2}',
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "step_type IN ('clean', 'enrich', 'analyze', 'extract', 'transform')",
            name=op.f("ck_steps_step_type"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_steps")),
        sa.UniqueConstraint("slug", name=op.f("uq_steps_slug")),
    )
    op.create_table(
        "super_admins",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("token_generation", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("email = lower(email)", name=op.f("ck_super_admins_email_lowercase")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_super_admins")),
        sa.UniqueConstraint("email", name=op.f("uq_super_admins_email")),
    )
    op.create_table(
        "companies",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("external_ref", sa.Text(), nullable=True),
        sa.Column("domain", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_companies_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_companies")),
        sa.UniqueConstraint("id", "org_id", name=op.f("uq_companies_id_org_id")),
        sa.UniqueConstraint("org_id", "name", name=op.f("uq_companies_org_id_name")),
    )
    op.create_index("ix_companies_org_id_domain", "companies", ["org_id", "domain"], unique=False)
    op.create_index(
        "uq_companies_org_id_external_ref",
        "companies",
        ["org_id", "external_ref"],
        unique=True,
        postgresql_where=sa.text("external_ref IS NOT NULL"),
    )
    op.create_table(
        "enrichment_cache",
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("provider", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("request_hash", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("response", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("cost_credits", sa.Numeric(precision=14, scale=4), server_default="0", nullable=False),
        sa.Column("sandbox", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_enrichment_cache_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint(
            "org_id", "provider", "action", "request_hash", name=op.f("pk_enrichment_cache")
        ),
    )
    op.create_index("ix_enrichment_cache_expires_at", "enrichment_cache", ["expires_at"], unique=False)
    op.create_table(
        "users",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("company_id", sa.UUID(), nullable=True),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("full_name", sa.Text(), nullable=True),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=True),
        sa.Column("token_generation", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("role IN ('org_admin', 'company_admin', 'member')", name=op.f("ck_users_role")),
        sa.CheckConstraint("email = lower(email)", name=op.f("ck_users_email_lowercase")),
        sa.ForeignKeyConstraint(
            ["company_id", "org_id"],
            ["companies.id", "companies.org_id"],
            name=op.f("fk_users_company_id_org_id_companies"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_users_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    op.create_index("ix_users_org_id_company_id", "users", ["org_id", "company_id"], unique=False)
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("company_id", sa.UUID(), nullable=True),
        sa.Column("user_id", sa.UUID(), nullable=True),
        sa.Column("created_by_user_id", sa.UUID(), nullable=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("token_hash", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "role IN ('org_admin', 'company_admin', 'member')", name=op.f("ck_api_tokens_role")
        ),
        sa.ForeignKeyConstraint(
            ["company_id", "org_id"],
            ["companies.id", "companies.org_id"],
            name=op.f("fk_api_tokens_company_id_org_id_companies"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["users.id"],
            name=op.f("fk_api_tokens_created_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_api_tokens_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_api_tokens_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    op.create_index("ix_api_tokens_org_id", "api_tokens", ["org_id"], unique=False)
    op.create_index("ix_api_tokens_user_id", "api_tokens", ["user_id"], unique=False)
    op.create_table(
        "blueprints",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("created_by_user_id", sa.UUID(), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("entity_type", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("version > 0", name=op.f("ck_blueprints_version_positive")),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["users.id"],
            name=op.f("fk_blueprints_created_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_blueprints_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blueprints")),
        sa.UniqueConstraint("id", "org_id", name=op.f("uq_blueprints_id_org_id")),
        sa.UniqueConstraint("org_id", "name", name=op.f("uq_blueprints_org_id_name")),
    )
    op.create_index(op.f("ix_blueprints_org_id"), "blueprints", ["org_id"], unique=False)
    op.create_table(
        "blueprint_steps",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("blueprint_id", sa.UUID(), nullable=False),
        sa.Column("step_id", sa.UUID(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("config", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("is_enabled", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("operation_id", sa.Text(), nullable=True),
        sa.Column("step_config", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("fan_out", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("position > 0", name=op.f("ck_blueprint_steps_position_positive")),
        sa.ForeignKeyConstraint(
            ["blueprint_id"],
            ["blueprints.id"],
            name=op.f("fk_blueprint_steps_blueprint_id_blueprints"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["step_id"], ["steps.id"], name=op.f("fk_blueprint_steps_step_id_steps"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blueprint_steps")),
        sa.UniqueConstraint(
            "blueprint_id", "position", name=op.f("uq_blueprint_steps_blueprint_id_position")
        ),
    )
    op.create_index(
        op.f("ix_blueprint_steps_blueprint_id"), "blueprint_steps", ["blueprint_id"], unique=False
    )
    op.create_index(
        op.f("ix_blueprint_steps_operation_id"), "blueprint_steps", ["operation_id"], unique=False
    )
    op.create_table(
        "blueprint_versions",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("blueprint_id", sa.UUID(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("snapshot", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["blueprint_id"],
            ["blueprints.id"],
            name=op.f("fk_blueprint_versions_blueprint_id_blueprints"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_blueprint_versions_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blueprint_versions")),
        sa.UniqueConstraint(
            "blueprint_id", "version", name=op.f("uq_blueprint_versions_blueprint_id_version")
        ),
        sa.UniqueConstraint("id", "org_id", name=op.f("uq_blueprint_versions_id_org_id")),
    )
    op.create_table(
        "submissions",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("company_id", sa.UUID(), nullable=False),
        sa.Column("blueprint_id", sa.UUID(), nullable=False),
        sa.Column("blueprint_version_id", sa.UUID(), nullable=True),
        sa.Column("submitted_by_user_id", sa.UUID(), nullable=True),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("input_payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("status", sa.Text(), server_default="received", nullable=False),
        sa.Column("metadata", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("idempotency_key", sa.Text(), nullable=True),
        sa.Column("runs_total", sa.Integer(), server_default="0", nullable=False),
        sa.Column("runs_running", sa.Integer(), server_default="0", nullable=False),
        sa.Column("runs_succeeded", sa.Integer(), server_default="0", nullable=False),
        sa.Column("runs_failed", sa.Integer(), server_default="0", nullable=False),
        sa.Column("runs_canceled", sa.Integer(), server_default="0", nullable=False),
        sa.Column("canceled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "status IN ('received', 'validated', 'queued', 'running', 'completed', 'failed', 'canceled')",
            name=op.f("ck_submissions_status"),
        ),
        sa.ForeignKeyConstraint(
            ["blueprint_id", "org_id"],
            ["blueprints.id", "blueprints.org_id"],
            name=op.f("fk_submissions_blueprint_id_org_id_blueprints"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["blueprint_version_id"],
            ["blueprint_versions.id"],
            name=op.f("fk_submissions_blueprint_version_id_blueprint_versions"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["company_id", "org_id"],
            ["companies.id", "companies.org_id"],
            name=op.f("fk_submissions_company_id_org_id_companies"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_submissions_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["submitted_by_user_id"],
            ["users.id"],
            name=op.f("fk_submissions_submitted_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_submissions")),
        sa.UniqueConstraint("id", "org_id", name=op.f("uq_submissions_id_org_id")),
    )
    op.create_index("ix_submissions_blueprint_id", "submissions", ["blueprint_id"], unique=False)
    op.create_index("ix_submissions_org_id_company_id", "submissions", ["org_id", "company_id"], unique=False)
    op.create_index(
        "ix_submissions_org_id_created_at",
        "submissions",
        ["org_id", sa.literal_column("created_at DESC")],
        unique=False,
    )
    op.create_index(
        "uq_submissions_org_id_idempotency_key",
        "submissions",
        ["org_id", "idempotency_key"],
        unique=True,
        postgresql_where=sa.text("idempotency_key IS NOT NULL"),
    )
    op.create_table(
        "pipeline_runs",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("company_id", sa.UUID(), nullable=False),
        sa.Column("submission_id", sa.UUID(), nullable=False),
        sa.Column("blueprint_id", sa.UUID(), nullable=False),
        sa.Column("blueprint_version_id", sa.UUID(), nullable=False),
        sa.Column("blueprint_version", sa.Integer(), nullable=False),
        sa.Column("parent_pipeline_run_id", sa.UUID(), nullable=True),
        sa.Column("trigger_run_id", sa.Text(), nullable=True),
        sa.Column("entity_index", sa.Integer(), nullable=True),
        sa.Column("entity_type", sa.Text(), nullable=False),
        sa.Column(
            "entity_input", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column("start_from_position", sa.Integer(), server_default="1", nullable=False),
        sa.Column("dedup_key", sa.Text(), nullable=True),
        sa.Column("depth", sa.Integer(), server_default="0", nullable=False),
        sa.Column("status", sa.Text(), server_default="queued", nullable=False),
        sa.Column("attempt", sa.Integer(), server_default="1", nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("error_details", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("entity_type IN ('company', 'person')", name=op.f("ck_pipeline_runs_entity_type")),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'failed', 'canceled')",
            name=op.f("ck_pipeline_runs_status"),
        ),
        sa.CheckConstraint("attempt > 0", name=op.f("ck_pipeline_runs_attempt_positive")),
        sa.CheckConstraint("blueprint_version > 0", name=op.f("ck_pipeline_runs_blueprint_version_positive")),
        sa.ForeignKeyConstraint(
            ["blueprint_id", "org_id"],
            ["blueprints.id", "blueprints.org_id"],
            name=op.f("fk_pipeline_runs_blueprint_id_org_id_blueprints"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["blueprint_version_id"],
            ["blueprint_versions.id"],
            name=op.f("fk_pipeline_runs_blueprint_version_id_blueprint_versions"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["company_id", "org_id"],
            ["companies.id", "companies.org_id"],
            name=op.f("fk_pipeline_runs_company_id_org_id_companies"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_pipeline_runs_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["parent_pipeline_run_id"],
            ["pipeline_runs.id"],
            name=op.f("fk_pipeline_runs_parent_pipeline_run_id_pipeline_runs"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["submission_id", "org_id"],
            ["submissions.id", "submissions.org_id"],
            name=op.f("fk_pipeline_runs_submission_id_org_id_submissions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pipeline_runs")),
        sa.UniqueConstraint("id", "org_id", name=op.f("uq_pipeline_runs_id_org_id")),
    )
    op.create_index("ix_pipeline_runs_blueprint_id", "pipeline_runs", ["blueprint_id"], unique=False)
    op.create_index(
        "ix_pipeline_runs_org_id_created_at",
        "pipeline_runs",
        ["org_id", sa.literal_column("created_at DESC")],
        unique=False,
    )
    op.create_index(
        "ix_pipeline_runs_parent_pipeline_run_id", "pipeline_runs", ["parent_pipeline_run_id"], unique=False
    )
    op.create_index(
        "ix_pipeline_runs_submission_id_created_at",
        "pipeline_runs",
        ["submission_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "uq_pipeline_runs_submission_id_dedup_key",
        "pipeline_runs",
        ["submission_id", "dedup_key"],
        unique=True,
        postgresql_where=sa.text("dedup_key IS NOT NULL"),
    )
    op.create_table(
        "company_entities",
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("entity_id", sa.UUID(), nullable=False),
        sa.Column("company_id", sa.UUID(), nullable=True),
        sa.Column("canonical_domain", sa.Text(), nullable=True),
        sa.Column("canonical_name", sa.Text(), nullable=True),
        sa.Column("linkedin_url", sa.Text(), nullable=True),
        sa.Column("industry", sa.Text(), nullable=True),
        sa.Column("employee_count", sa.Integer(), nullable=True),
        sa.Column("employee_range", sa.Text(), nullable=True),
        sa.Column("revenue_band", sa.Text(), nullable=True),
        sa.Column("hq_country", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("enrichment_confidence", sa.Numeric(), nullable=True),
        sa.Column("source_providers", sa.ARRAY(sa.Text()), nullable=True),
        sa.Column("last_enriched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_operation_id", sa.Text(), nullable=True),
        sa.Column("last_run_id", sa.UUID(), nullable=True),
        sa.Column("record_version", sa.BigInteger(), server_default="1", nullable=False),
        sa.Column("canonical_payload", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "field_provenance", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("record_version > 0", name=op.f("ck_company_entities_record_version_positive")),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_company_entities_company_id_companies"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["last_run_id"],
            ["pipeline_runs.id"],
            name=op.f("fk_company_entities_last_run_id_pipeline_runs"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_company_entities_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("org_id", "entity_id", name=op.f("pk_company_entities")),
    )
    op.create_index(
        "ix_company_entities_org_id_company_id", "company_entities", ["org_id", "company_id"], unique=False
    )
    op.create_index(
        "ix_company_entities_org_id_linkedin_url",
        "company_entities",
        ["org_id", "linkedin_url"],
        unique=False,
    )
    op.create_index(
        "ix_company_entities_org_id_updated_at",
        "company_entities",
        ["org_id", sa.literal_column("updated_at DESC"), "entity_id"],
        unique=False,
    )
    op.create_index(
        "uq_company_entities_org_id_canonical_domain",
        "company_entities",
        ["org_id", "canonical_domain"],
        unique=True,
        postgresql_where=sa.text("canonical_domain IS NOT NULL"),
    )
    op.create_table(
        "entity_snapshots",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("entity_type", sa.Text(), nullable=False),
        sa.Column("entity_id", sa.UUID(), nullable=False),
        sa.Column("record_version", sa.BigInteger(), nullable=False),
        sa.Column("canonical_payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("captured_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("source_run_id", sa.UUID(), nullable=True),
        sa.CheckConstraint(
            "entity_type IN ('company', 'person')", name=op.f("ck_entity_snapshots_entity_type")
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_entity_snapshots_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["source_run_id"],
            ["pipeline_runs.id"],
            name=op.f("fk_entity_snapshots_source_run_id_pipeline_runs"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_entity_snapshots")),
        sa.UniqueConstraint(
            "org_id",
            "entity_type",
            "entity_id",
            "record_version",
            name=op.f("uq_entity_snapshots_org_id_entity_type_entity_id_record_version"),
        ),
    )
    op.create_index(
        "ix_entity_snapshots_entity_captured_at",
        "entity_snapshots",
        ["org_id", "entity_type", "entity_id", sa.literal_column("captured_at DESC")],
        unique=False,
    )
    op.create_index("ix_entity_snapshots_source_run_id", "entity_snapshots", ["source_run_id"], unique=False)
    op.create_table(
        "person_entities",
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("entity_id", sa.UUID(), nullable=False),
        sa.Column("company_id", sa.UUID(), nullable=True),
        sa.Column("full_name", sa.Text(), nullable=True),
        sa.Column("first_name", sa.Text(), nullable=True),
        sa.Column("last_name", sa.Text(), nullable=True),
        sa.Column("linkedin_url", sa.Text(), nullable=True),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("seniority", sa.Text(), nullable=True),
        sa.Column("department", sa.Text(), nullable=True),
        sa.Column("work_email", sa.Text(), nullable=True),
        sa.Column("email_status", sa.Text(), nullable=True),
        sa.Column("phone_e164", sa.Text(), nullable=True),
        sa.Column("contact_confidence", sa.Numeric(), nullable=True),
        sa.Column("company_domain", sa.Text(), nullable=True),
        sa.Column("last_enriched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_operation_id", sa.Text(), nullable=True),
        sa.Column("last_run_id", sa.UUID(), nullable=True),
        sa.Column("record_version", sa.BigInteger(), server_default="1", nullable=False),
        sa.Column("canonical_payload", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "field_provenance", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("record_version > 0", name=op.f("ck_person_entities_record_version_positive")),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_person_entities_company_id_companies"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["last_run_id"],
            ["pipeline_runs.id"],
            name=op.f("fk_person_entities_last_run_id_pipeline_runs"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_person_entities_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("org_id", "entity_id", name=op.f("pk_person_entities")),
    )
    op.create_index(
        "ix_person_entities_org_id_company_id", "person_entities", ["org_id", "company_id"], unique=False
    )
    op.create_index(
        "ix_person_entities_org_id_updated_at",
        "person_entities",
        ["org_id", sa.literal_column("updated_at DESC"), "entity_id"],
        unique=False,
    )
    op.create_index(
        "uq_person_entities_org_id_linkedin_url",
        "person_entities",
        ["org_id", "linkedin_url"],
        unique=True,
        postgresql_where=sa.text("linkedin_url IS NOT NULL"),
    )
    op.create_index(
        "uq_person_entities_org_id_work_email",
        "person_entities",
        ["org_id", "work_email"],
        unique=True,
        postgresql_where=sa.text("work_email IS NOT NULL"),
    )
    op.create_table(
        "step_results",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("company_id", sa.UUID(), nullable=False),
        sa.Column("pipeline_run_id", sa.UUID(), nullable=False),
        sa.Column("submission_id", sa.UUID(), nullable=False),
        sa.Column("step_id", sa.UUID(), nullable=True),
        sa.Column("blueprint_step_id", sa.UUID(), nullable=True),
        sa.Column("step_position", sa.Integer(), nullable=False),
        sa.Column("operation_id", sa.Text(), nullable=True),
        sa.Column("task_run_id", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), server_default="queued", nullable=False),
        sa.Column("attempt", sa.Integer(), server_default="0", nullable=False),
        sa.Column("available_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_by", sa.Text(), nullable=True),
        sa.Column("input_payload", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("output_payload", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("error_details", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'failed', 'skipped', 'retrying')",
            name=op.f("ck_step_results_status"),
        ),
        sa.CheckConstraint("attempt >= 0", name=op.f("ck_step_results_attempt_nonnegative")),
        sa.CheckConstraint(
            "duration_ms IS NULL OR duration_ms >= 0", name=op.f("ck_step_results_duration_nonnegative")
        ),
        sa.CheckConstraint("step_position > 0", name=op.f("ck_step_results_step_position_positive")),
        sa.ForeignKeyConstraint(
            ["blueprint_step_id"],
            ["blueprint_steps.id"],
            name=op.f("fk_step_results_blueprint_step_id_blueprint_steps"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["company_id", "org_id"],
            ["companies.id", "companies.org_id"],
            name=op.f("fk_step_results_company_id_org_id_companies"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_step_results_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["pipeline_run_id", "org_id"],
            ["pipeline_runs.id", "pipeline_runs.org_id"],
            name=op.f("fk_step_results_pipeline_run_id_org_id_pipeline_runs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["step_id"], ["steps.id"], name=op.f("fk_step_results_step_id_steps"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["submission_id", "org_id"],
            ["submissions.id", "submissions.org_id"],
            name=op.f("fk_step_results_submission_id_org_id_submissions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_step_results")),
        sa.UniqueConstraint(
            "pipeline_run_id", "step_position", name=op.f("uq_step_results_pipeline_run_id_step_position")
        ),
    )
    op.create_index(
        "ix_step_results_org_id_created_at",
        "step_results",
        ["org_id", sa.literal_column("created_at DESC")],
        unique=False,
    )
    op.create_index(
        "ix_step_results_ready",
        "step_results",
        ["org_id", "available_at"],
        unique=False,
        postgresql_where=sa.text("status IN ('queued', 'retrying') AND available_at IS NOT NULL"),
    )
    op.create_index(
        "ix_step_results_running_lease",
        "step_results",
        ["lease_expires_at"],
        unique=False,
        postgresql_where=sa.text("status = 'running'"),
    )
    op.create_index("ix_step_results_submission_id", "step_results", ["submission_id"], unique=False)
    op.create_table(
        "entity_timeline",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("company_id", sa.UUID(), nullable=True),
        sa.Column("entity_type", sa.Text(), nullable=False),
        sa.Column("entity_id", sa.UUID(), nullable=False),
        sa.Column("operation_id", sa.Text(), nullable=False),
        sa.Column("pipeline_run_id", sa.UUID(), nullable=True),
        sa.Column("submission_id", sa.UUID(), nullable=True),
        sa.Column("step_result_id", sa.UUID(), nullable=True),
        sa.Column("provider", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("fields_updated", sa.ARRAY(sa.Text()), nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("metadata", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "entity_type IN ('company', 'person')", name=op.f("ck_entity_timeline_entity_type")
        ),
        sa.CheckConstraint(
            "status IN ('found', 'not_found', 'failed', 'skipped')", name=op.f("ck_entity_timeline_status")
        ),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_entity_timeline_company_id_companies"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_entity_timeline_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["pipeline_run_id"],
            ["pipeline_runs.id"],
            name=op.f("fk_entity_timeline_pipeline_run_id_pipeline_runs"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["step_result_id"],
            ["step_results.id"],
            name=op.f("fk_entity_timeline_step_result_id_step_results"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name=op.f("fk_entity_timeline_submission_id_submissions"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_entity_timeline")),
    )
    op.create_index(
        "ix_entity_timeline_entity_created_at",
        "entity_timeline",
        ["org_id", "entity_type", "entity_id", sa.literal_column("created_at DESC")],
        unique=False,
    )
    op.create_index(
        "ix_entity_timeline_org_id_pipeline_run_id",
        "entity_timeline",
        ["org_id", "pipeline_run_id"],
        unique=False,
    )
    op.create_index(
        "ix_entity_timeline_org_id_submission_id_created_at",
        "entity_timeline",
        ["org_id", "submission_id", sa.literal_column("created_at DESC")],
        unique=False,
    )
    op.create_table(
        "operation_runs",
        sa.Column("run_id", sa.UUID(), nullable=False),
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("company_id", sa.UUID(), nullable=True),
        sa.Column("user_id", sa.UUID(), nullable=True),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("auth_method", sa.Text(), nullable=False),
        sa.Column("operation_id", sa.Text(), nullable=False),
        sa.Column("entity_type", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column(
            "missing_inputs", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False
        ),
        sa.Column("input_payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("output_payload", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("pipeline_run_id", sa.UUID(), nullable=True),
        sa.Column("step_result_id", sa.UUID(), nullable=True),
        sa.Column("submission_id", sa.UUID(), nullable=True),
        sa.Column("cost_credits", sa.Numeric(precision=14, scale=4), server_default="0", nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "entity_type IN ('company', 'person')", name=op.f("ck_operation_runs_entity_type")
        ),
        sa.CheckConstraint(
            "status IN ('found', 'not_found', 'failed', 'verified', 'skipped')",
            name=op.f("ck_operation_runs_status"),
        ),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_operation_runs_company_id_companies"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_operation_runs_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["pipeline_run_id"],
            ["pipeline_runs.id"],
            name=op.f("fk_operation_runs_pipeline_run_id_pipeline_runs"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["step_result_id"],
            ["step_results.id"],
            name=op.f("fk_operation_runs_step_result_id_step_results"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name=op.f("fk_operation_runs_submission_id_submissions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_operation_runs_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_operation_runs")),
    )
    op.create_index(
        "ix_operation_runs_operation_id_created_at",
        "operation_runs",
        ["operation_id", sa.literal_column("created_at DESC")],
        unique=False,
    )
    op.create_index(
        "ix_operation_runs_org_id_created_at",
        "operation_runs",
        ["org_id", sa.literal_column("created_at DESC")],
        unique=False,
    )
    op.create_index("ix_operation_runs_pipeline_run_id", "operation_runs", ["pipeline_run_id"], unique=False)
    op.create_index("ix_operation_runs_step_result_id", "operation_runs", ["step_result_id"], unique=False)
    op.create_table(
        "operation_attempts",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("run_id", sa.UUID(), nullable=False),
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("provider", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("skip_reason", sa.Text(), nullable=True),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("provider_status", sa.Text(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("raw_response", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("http_attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("cached", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("sandbox", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("cost_credits", sa.Numeric(precision=14, scale=4), server_default="0", nullable=False),
        sa.Column("saved_credits", sa.Numeric(precision=14, scale=4), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "status IN ('found', 'not_found', 'failed', 'verified', 'skipped')",
            name=op.f("ck_operation_attempts_status"),
        ),
        sa.CheckConstraint(
            "duration_ms IS NULL OR duration_ms >= 0", name=op.f("ck_operation_attempts_duration_nonnegative")
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_operation_attempts_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["operation_runs.run_id"],
            name=op.f("fk_operation_attempts_run_id_operation_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operation_attempts")),
    )
    op.create_index(
        "ix_operation_attempts_org_id_created_at",
        "operation_attempts",
        ["org_id", sa.literal_column("created_at DESC")],
        unique=False,
    )
    op.create_index(
        "ix_operation_attempts_provider_created_at",
        "operation_attempts",
        ["provider", sa.literal_column("created_at DESC")],
        unique=False,
    )
    op.create_index("ix_operation_attempts_run_id", "operation_attempts", ["run_id"], unique=False)
    op.execute(
        """
        CREATE FUNCTION dex_set_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            NEW.updated_at = now();
            RETURN NEW;
        END $$
        """
    )
    for table in TABLES_WITH_UPDATED_AT:
        op.execute(
            f"CREATE TRIGGER {table}_set_updated_at BEFORE UPDATE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION dex_set_updated_at()"
        )


def downgrade() -> None:
    op.drop_index("ix_operation_attempts_run_id", table_name="operation_attempts")
    op.drop_index("ix_operation_attempts_provider_created_at", table_name="operation_attempts")
    op.drop_index("ix_operation_attempts_org_id_created_at", table_name="operation_attempts")
    op.drop_table("operation_attempts")
    op.drop_index("ix_operation_runs_step_result_id", table_name="operation_runs")
    op.drop_index("ix_operation_runs_pipeline_run_id", table_name="operation_runs")
    op.drop_index("ix_operation_runs_org_id_created_at", table_name="operation_runs")
    op.drop_index("ix_operation_runs_operation_id_created_at", table_name="operation_runs")
    op.drop_table("operation_runs")
    op.drop_index("ix_entity_timeline_org_id_submission_id_created_at", table_name="entity_timeline")
    op.drop_index("ix_entity_timeline_org_id_pipeline_run_id", table_name="entity_timeline")
    op.drop_index("ix_entity_timeline_entity_created_at", table_name="entity_timeline")
    op.drop_table("entity_timeline")
    op.drop_index("ix_step_results_submission_id", table_name="step_results")
    op.drop_index(
        "ix_step_results_running_lease",
        table_name="step_results",
        postgresql_where=sa.text("status = 'running'"),
    )
    op.drop_index(
        "ix_step_results_ready",
        table_name="step_results",
        postgresql_where=sa.text("status IN ('queued', 'retrying') AND available_at IS NOT NULL"),
    )
    op.drop_index("ix_step_results_org_id_created_at", table_name="step_results")
    op.drop_table("step_results")
    op.drop_index(
        "uq_person_entities_org_id_work_email",
        table_name="person_entities",
        postgresql_where=sa.text("work_email IS NOT NULL"),
    )
    op.drop_index(
        "uq_person_entities_org_id_linkedin_url",
        table_name="person_entities",
        postgresql_where=sa.text("linkedin_url IS NOT NULL"),
    )
    op.drop_index("ix_person_entities_org_id_updated_at", table_name="person_entities")
    op.drop_index("ix_person_entities_org_id_company_id", table_name="person_entities")
    op.drop_table("person_entities")
    op.drop_index("ix_entity_snapshots_source_run_id", table_name="entity_snapshots")
    op.drop_index("ix_entity_snapshots_entity_captured_at", table_name="entity_snapshots")
    op.drop_table("entity_snapshots")
    op.drop_index(
        "uq_company_entities_org_id_canonical_domain",
        table_name="company_entities",
        postgresql_where=sa.text("canonical_domain IS NOT NULL"),
    )
    op.drop_index("ix_company_entities_org_id_updated_at", table_name="company_entities")
    op.drop_index("ix_company_entities_org_id_linkedin_url", table_name="company_entities")
    op.drop_index("ix_company_entities_org_id_company_id", table_name="company_entities")
    op.drop_table("company_entities")
    op.drop_index(
        "uq_pipeline_runs_submission_id_dedup_key",
        table_name="pipeline_runs",
        postgresql_where=sa.text("dedup_key IS NOT NULL"),
    )
    op.drop_index("ix_pipeline_runs_submission_id_created_at", table_name="pipeline_runs")
    op.drop_index("ix_pipeline_runs_parent_pipeline_run_id", table_name="pipeline_runs")
    op.drop_index("ix_pipeline_runs_org_id_created_at", table_name="pipeline_runs")
    op.drop_index("ix_pipeline_runs_blueprint_id", table_name="pipeline_runs")
    op.drop_table("pipeline_runs")
    op.drop_index(
        "uq_submissions_org_id_idempotency_key",
        table_name="submissions",
        postgresql_where=sa.text("idempotency_key IS NOT NULL"),
    )
    op.drop_index("ix_submissions_org_id_created_at", table_name="submissions")
    op.drop_index("ix_submissions_org_id_company_id", table_name="submissions")
    op.drop_index("ix_submissions_blueprint_id", table_name="submissions")
    op.drop_table("submissions")
    op.drop_table("blueprint_versions")
    op.drop_index(op.f("ix_blueprint_steps_operation_id"), table_name="blueprint_steps")
    op.drop_index(op.f("ix_blueprint_steps_blueprint_id"), table_name="blueprint_steps")
    op.drop_table("blueprint_steps")
    op.drop_index(op.f("ix_blueprints_org_id"), table_name="blueprints")
    op.drop_table("blueprints")
    op.drop_index("ix_api_tokens_user_id", table_name="api_tokens")
    op.drop_index("ix_api_tokens_org_id", table_name="api_tokens")
    op.drop_table("api_tokens")
    op.drop_index("ix_users_org_id_company_id", table_name="users")
    op.drop_table("users")
    op.drop_index("ix_enrichment_cache_expires_at", table_name="enrichment_cache")
    op.drop_table("enrichment_cache")
    op.drop_index(
        "uq_companies_org_id_external_ref",
        table_name="companies",
        postgresql_where=sa.text("external_ref IS NOT NULL"),
    )
    op.drop_index("ix_companies_org_id_domain", table_name="companies")
    op.drop_table("companies")
    op.drop_table("super_admins")
    op.drop_table("steps")
    op.drop_table("orgs")
    op.execute("DROP FUNCTION dex_set_updated_at()")
