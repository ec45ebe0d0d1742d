"""exception intelligence: trained models and the audit of automated decisions

Revision ID: 0002_intel
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_intel"
down_revision = "0001"
branch_labels = ("intel",)
depends_on = "0002_ops"  # decisions refer to cases

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "intel_models",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("window_start", _TS, nullable=True),
        sa.Column("window_end", _TS, nullable=True),
        sa.Column("examples", sa.Integer(), nullable=False),
        sa.Column("artifact", sa.JSON(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intel_models")),
        sa.UniqueConstraint("name", "version", name="uq_intel_models_name_version"),
    )
    op.create_table(
        "intel_decisions",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("dedupe_key", sa.String(length=300), nullable=True),
        sa.Column("case_id", _ID, nullable=True),
        sa.Column("document_id", _ID, nullable=True),
        sa.Column("partner_id", sa.String(length=64), nullable=True),
        sa.Column("agent", sa.String(length=60), nullable=True),
        sa.Column("model_name", sa.String(length=40), nullable=True),
        sa.Column("model_version", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("confidence", sa.Double(), nullable=True),
        sa.Column("value", sa.Double(), nullable=True),
        sa.Column("inputs", sa.JSON(), nullable=False),
        sa.Column("features", sa.JSON(), nullable=False),
        sa.Column("policy", sa.JSON(), nullable=False),
        sa.Column("action", sa.String(length=80), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("approved_by", sa.String(length=120), nullable=True),
        sa.Column("outcome", sa.JSON(), nullable=False),
        sa.Column("warning", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_intel_decisions_case_id_cases")),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"],
                                name=op.f("fk_intel_decisions_document_id_documents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intel_decisions")),
    )
    with op.batch_alter_table("intel_decisions", schema=None) as batch_op:
        batch_op.create_index("ix_intel_decisions_case", ["case_id"], unique=False)
        batch_op.create_index("ix_intel_decisions_kind_key", ["kind", "dedupe_key"], unique=False)
        batch_op.create_index("ix_intel_decisions_document", ["document_id"], unique=False)


def downgrade() -> None:
    op.drop_table("intel_decisions")
    op.drop_table("intel_models")
