"""Database tables (SQLAlchemy Core). The schema itself is created by Alembic migrations
in ``habmon/store/migrations``; a test checks that the two agree.

Append-only by design: ``observation`` and ``audit_event`` rows are never updated or
deleted (database triggers refuse it); a new value is a new revision.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from habmon.store.columns import observation_values

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

plan_version = Table(
    "plan_version",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("plan_id", String(100), nullable=False),
    Column("version", String(100), nullable=False),
    Column("content_sha256", String(64), nullable=False),
    Column("source", Text, nullable=False),
    Column("document", JSON, nullable=False),
    Column("loaded_at", DateTime(timezone=True), nullable=False),
    Column("loaded_by", String(200), nullable=False),
    UniqueConstraint("plan_id", "content_sha256"),
)

plan_element = Table(
    "plan_element",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("plan_version_id", ForeignKey("plan_version.id"), nullable=False),
    Column("element_id", String(50), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("level", String(20)),
    Column("parent_id", String(50)),
    Column("name_zh", Text, nullable=False),
    Column("name_en", Text, nullable=False),
    Column("paragraphs", JSON, nullable=False),
    UniqueConstraint("plan_version_id", "element_id"),
)

registry_version = Table(
    "registry_version",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("plan_version_id", ForeignKey("plan_version.id"), nullable=False),
    Column("content_sha256", String(64), nullable=False),
    Column("loaded_at", DateTime(timezone=True), nullable=False),
    Column("loaded_by", String(200), nullable=False),
    UniqueConstraint("plan_version_id", "content_sha256"),
)

indicator = Table(
    "indicator",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("registry_version_id", ForeignKey("registry_version.id"), nullable=False),
    Column("code", String(40), nullable=False),
    Column("level", String(20), nullable=False),
    Column("status", String(20), nullable=False),
    Column("unit", String(40), nullable=False),
    Column("name_zh", Text, nullable=False),
    Column("name_en", Text, nullable=False),
    Column("document", JSON, nullable=False),
    UniqueConstraint("registry_version_id", "code"),
)

geography_version = Table(
    "geography_version",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("version", String(100), nullable=False),
    Column("as_of", Date, nullable=False),
    Column("content_sha256", String(64), nullable=False, unique=True),
    Column("loaded_at", DateTime(timezone=True), nullable=False),
)

geo_unit = Table(
    "geo_unit",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("geography_version_id", ForeignKey("geography_version.id"), nullable=False),
    Column("code", String(40), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("names", JSON, nullable=False),
    Column("m49", String(10)),
    Column("iso2", String(2)),
    Column("iso3", String(3)),
    Column("latitude", Float),
    Column("longitude", Float),
    Column("population", Float),
    Column("valid_from", Date),
    Column("valid_to", Date),
    Column("note", Text),
    UniqueConstraint("geography_version_id", "code"),
)

geo_membership = Table(
    "geo_membership",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("geography_version_id", ForeignKey("geography_version.id"), nullable=False),
    Column("parent_code", String(40), nullable=False),
    Column("child_code", String(40), nullable=False),
    Column("hierarchy", String(20), nullable=False),
    Column("valid_from", Date),
    Column("valid_to", Date),
    Index("ix_geo_membership_child", "geography_version_id", "child_code"),
)

geo_alias = Table(
    "geo_alias",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("geography_version_id", ForeignKey("geography_version.id"), nullable=False),
    Column("scheme", String(20), nullable=False),
    Column("value", String(60), nullable=False),
    Column("code", String(40), nullable=False),
)

engagement_list = Table(
    "engagement_list",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("illustrative", Boolean, nullable=False),
    Column("source", Text, nullable=False),
    Column("content_sha256", String(64), nullable=False, unique=True),
    Column("loaded_at", DateTime(timezone=True), nullable=False),
    Column("loaded_by", String(200), nullable=False),
)

engagement = Table(
    "engagement",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("engagement_list_id", ForeignKey("engagement_list.id"), nullable=False),
    Column("geo_code", String(40), nullable=False),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date),
    Column("note", Text),
)

batch = Table(
    "batch",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(20), nullable=False),  # shipped | submission
    Column("name", String(200), nullable=False),
    Column("source_file", Text),
    Column("content_sha256", String(64)),
    Column("actor", String(200), nullable=False),
    Column("organization", String(200)),
    Column("loaded_at", DateTime(timezone=True), nullable=False),
    Column("note", Text),
    Column("vintage", String(7)),  # the release of the source: YYYY or YYYY-MM (migration 0012)
)

observation = Table(
    "observation",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("batch_id", ForeignKey("batch.id"), nullable=False),
    *observation_values(),
    Column("revision", Integer, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("series", "geo_code", "period", "disaggregation_key", "revision", name="uq_observation_key"),
    Index("ix_observation_batch", "batch_id"),
)

audit_event = Table(
    "audit_event",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("action", String(60), nullable=False),
    Column("object_type", String(40), nullable=False),
    Column("object_id", String(200), nullable=False),
    Column("details", JSON, nullable=False),
)

APPEND_ONLY_TABLES = ("observation", "audit_event", "submission_row", "submission_file", "engine_result")

# -- submissions (migration 0002) ---------------------------------------------------------

submission = Table(
    "submission",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("state", String(20), nullable=False),
    Column("format", String(20), nullable=False),
    Column("file_name", Text, nullable=False),
    Column("content_sha256", String(64), nullable=False),
    Column("submitter", String(200), nullable=False),
    Column("organization", String(200), nullable=False),
    Column("organization_type", String(20), nullable=False),  # member_state | secretariat | partner
    Column("source", Text),
    Column("method_note", Text),
    Column("rows", Integer, nullable=False),
    Column("report", JSON, nullable=False),
    Column("comment", Text),
    Column("batch_id", ForeignKey("batch.id")),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("vintage", String(7)),  # declared by the submitter, or the month it was submitted (migration 0012)
    Index("ix_submission_sha", "content_sha256"),
)

submission_file = Table(
    "submission_file",
    metadata,
    Column("submission_id", ForeignKey("submission.id"), primary_key=True),
    Column("content", LargeBinary, nullable=False),
)

submission_row = Table(
    "submission_row",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("submission_id", ForeignKey("submission.id"), nullable=False),
    *observation_values(),
    Column("source_row", Integer, nullable=False),
    Index("ix_submission_row_submission", "submission_id"),
)

# -- engine runs (migration 0003) -----------------------------------------------------------

engine_run = Table(
    "engine_run",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("engine", String(20), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("snapshot_observation_id", Integer, nullable=False),  # inputs: observations with id ≤ this
    Column("parameters", JSON, nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=False),
    Column("results", Integer, nullable=False),
)

engine_result = Table(
    "engine_result",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", ForeignKey("engine_run.id"), nullable=False),
    Column("kind", String(20), nullable=False),  # aggregate | progress
    Column("indicator", String(40), nullable=False),
    Column("geo_code", String(40), nullable=False),
    Column("level", String(20)),
    Column("period", Integer),
    Column("value", Float),
    Column("people", Float),
    Column("coverage", Float),  # including filled values
    Column("units_reported", Integer),
    Column("units_total", Integer),
    Column("imputed_units", Integer),
    Column("published", Boolean),  # judged on coverage_reported (migration 0011)
    Column("method", String(20)),
    Column("status", String(30)),
    Column("details", JSON, nullable=False),
    Column("coverage_reported", Float),  # by values reported for the year only (migration 0011)
    Column("filled_share", Float),  # share of the value's weight that is filled (migration 0011)
    Index("ix_engine_result_run", "run_id", "indicator"),
)

# -- users, scopes, API tokens, login attempts, web sessions (migration 0004) ---------------
# ("user" is reserved in PostgreSQL, hence user_account.) Secrets are stored as hashes only:
# passwords as argon2id, API tokens and session tokens as SHA-256 of their random text.

user_account = Table(
    "user_account",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("role", String(20), nullable=False),  # admin | officer | focal_point | partner
    Column("display_name", String(200), nullable=False),
    Column("organization", String(200)),
    Column("password_hash", Text),  # argon2id; NULL: no password login (tokens only, or not yet set)
    Column("active", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("password_changed_at", DateTime(timezone=True)),
)

user_scope = Table(
    "user_scope",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", ForeignKey("user_account.id"), nullable=False),
    Column("geo_code", String(40), nullable=False),
    UniqueConstraint("user_id", "geo_code"),
)

api_token = Table(
    "api_token",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", ForeignKey("user_account.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("prefix", String(16), nullable=False),  # shown in lists so a person can tell tokens apart
    Column("token_sha256", String(64), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_used_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
)

login_attempt = Table(
    "login_attempt",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("username", String(200), nullable=False),
    Column("remote", String(100), nullable=False),
    Column("success", Boolean, nullable=False),
    Index("ix_login_attempt_username", "username", "at"),
    Index("ix_login_attempt_remote", "remote", "at"),
)

web_session = Table(
    "web_session",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", ForeignKey("user_account.id"), nullable=False),
    Column("token_sha256", String(64), nullable=False, unique=True),
    Column("csrf_sha256", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Index("ix_web_session_user", "user_id"),
)

# -- durable jobs (issue #16): monitoring runs and other long work, claimed by workers on any process ----------

job = Table(
    "job",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(40), nullable=False),  # monitoring_run | …
    Column("state", String(12), nullable=False),  # queued | running | done | failed
    Column("requested_by", String(200), nullable=False),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("started_at", DateTime(timezone=True)),
    Column("finished_at", DateTime(timezone=True)),
    Column("lease_until", DateTime(timezone=True)),  # a running job whose lease passed is claimed again
    Column("worker", String(200)),
    Column("attempts", Integer, nullable=False),
    Column("requests", Integer, nullable=False),  # how many requests this one job answers (collapsed)
    Column("result", JSON),
    Column("error", Text),
    Index("ix_job_state", "state", "kind", "id"),
    # At most one queued job per kind: requests made while one waits collapse into it.
    Index(
        "ux_job_queued_kind",
        "kind",
        unique=True,
        sqlite_where=text("state = 'queued'"),
        postgresql_where=text("state = 'queued'"),
    ),
)
# -- survey microdata (issue #12, migration 0008) -------------------------------------------
# Microdata are confidential: a survey keeps its registration, its design and the checksum of the
# file it was registered with — never the records. A computation keeps the derived estimates
# (with SE, interval, n, design effect) and the submission they were sent as.

survey = Table(
    "survey",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("country", String(40), nullable=False),  # geography code
    Column("fieldwork_start", Integer, nullable=False),
    Column("fieldwork_end", Integer, nullable=False),
    Column("unit", String(40), nullable=False),  # household | person
    Column("design", JSON, nullable=False),  # weight, psu, strata, fpc, weight divisor
    Column("source", Text, nullable=False),
    Column("access_conditions", Text, nullable=False),
    Column("file_name", Text, nullable=False),
    Column("file_format", String(10), nullable=False),
    Column("content_sha256", String(64), nullable=False),
    Column("records", Integer, nullable=False),
    Column("variables", JSON, nullable=False),  # names only
    Column("registered_by", String(200), nullable=False),
    Column("registered_at", DateTime(timezone=True), nullable=False),
)

survey_computation = Table(
    "survey_computation",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("survey_id", ForeignKey("survey.id"), nullable=False),
    Column("indicator", String(40), nullable=False),
    Column("by", JSON, nullable=False),
    Column("lonely_psu", String(10), nullable=False),
    Column("recipe_sha256", String(64), nullable=False),
    Column("estimates", JSON, nullable=False),
    Column("excluded", Integer, nullable=False),
    Column("submission_id", ForeignKey("submission.id")),
    Column("computed_by", String(200), nullable=False),
    Column("computed_at", DateTime(timezone=True), nullable=False),
    Index("ix_survey_computation_survey", "survey_id"),
)

# observations and staged submission rows carry design-based uncertainty (NULL for other data)
for _table in (observation, submission_row):
    _table.append_column(Column("se", Float))
    _table.append_column(Column("ci_low", Float))
    _table.append_column(Column("ci_high", Float))
    _table.append_column(Column("n", Integer))
    _table.append_column(Column("deff", Float))
