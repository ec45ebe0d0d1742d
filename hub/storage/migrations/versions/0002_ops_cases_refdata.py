"""operations: reference data, case history and queue columns, dead-letter edits

Revision ID: 0002_ops
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_ops"
down_revision = "0001"
branch_labels = ("ops",)
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "reference_data",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=400), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reference_data")),
        sa.UniqueConstraint("kind", "key", name="uq_reference_data_kind_key"),
    )
    op.create_table(
        "case_events",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("case_id", _ID, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_case_events_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_events")),
    )
    with op.batch_alter_table("case_events", schema=None) as batch_op:
        batch_op.create_index("ix_case_events_case", ["case_id"], unique=False)
    op.create_table(
        "dead_letter_edits",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("dead_letter_id", _ID, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("editor", sa.String(length=120), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("from_inbox_id", _ID, nullable=True),
        sa.Column("to_inbox_id", _ID, nullable=True),
        sa.Column("diff", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["dead_letter_id"], ["dead_letters.id"],
                                name=op.f("fk_dead_letter_edits_dead_letter_id_dead_letters")),
        sa.ForeignKeyConstraint(["from_inbox_id"], ["inbox.id"], name=op.f("fk_dead_letter_edits_from_inbox_id_inbox")),
        sa.ForeignKeyConstraint(["to_inbox_id"], ["inbox.id"], name=op.f("fk_dead_letter_edits_to_inbox_id_inbox")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dead_letter_edits")),
    )
    with op.batch_alter_table("dead_letter_edits", schema=None) as batch_op:
        batch_op.create_index("ix_dead_letter_edits_dl", ["dead_letter_id"], unique=False)
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("business_key", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("approver_role", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("resolution", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        for column in ("resolved_at", "resolution", "approver_role", "business_key"):
            batch_op.drop_column(column)
    op.drop_table("dead_letter_edits")
    op.drop_table("case_events")
    op.drop_table("reference_data")
