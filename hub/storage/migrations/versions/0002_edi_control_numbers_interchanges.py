"""edi: control numbers, interchanges seen, received sets, outbound interchanges

Revision ID: 0002_edi
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_edi"
down_revision = "0001"
branch_labels = ("edi",)
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "edi_control_numbers",
        sa.Column("partner_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("partner_id", "kind", name=op.f("pk_edi_control_numbers")),
    )
    op.create_table(
        "edi_seen",
        sa.Column("partner_id", sa.String(64), nullable=False),
        sa.Column("sender_id", sa.String(35), nullable=False),
        sa.Column("control_number", sa.String(14), nullable=False),
        sa.Column("inbox_id", _ID, sa.ForeignKey("inbox.id", name="fk_edi_seen_inbox_id_inbox"),
                  nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("partner_id", "sender_id", "control_number", name=op.f("pk_edi_seen")),
    )
    op.create_table(
        "edi_outbound",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("partner_id", sa.String(64), nullable=False),
        sa.Column("standard", sa.String(10), nullable=False),
        sa.Column("set_id", sa.String(10), nullable=False),
        sa.Column("document_type", sa.String(40), nullable=True),
        sa.Column("po_number", sa.String(35), nullable=True),
        sa.Column("interchange_control", sa.String(14), nullable=False),
        sa.Column("group_control", sa.String(14), nullable=True),
        sa.Column("control_number", sa.String(14), nullable=True),
        sa.Column("answers_inbox_id", _ID,
                  sa.ForeignKey("inbox.id", name="fk_edi_outbound_answers_inbox_id_inbox"), nullable=True),
        sa.Column("document_id", _ID,
                  sa.ForeignKey("documents.id", name="fk_edi_outbound_document_id_documents"), nullable=True),
        sa.Column("canonical", sa.JSON(), nullable=True),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("ack_status", sa.String(20), nullable=False),
        sa.Column("ack_due_at", _TS, nullable=True),
        sa.Column("ack_detail", sa.JSON(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _TS, nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("receipt", sa.Text(), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("sent_at", _TS, nullable=True),
        sa.Column("acknowledged_at", _TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_edi_outbound")),
    )
    op.create_index("ix_edi_outbound_status", "edi_outbound", ["status", "next_attempt_at"])
    op.create_index("ix_edi_outbound_match", "edi_outbound", ["partner_id", "interchange_control"])
    op.create_index("ix_edi_outbound_po", "edi_outbound", ["partner_id", "po_number"])
    op.create_table(
        "edi_received",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("inbox_id", _ID, sa.ForeignKey("inbox.id", name="fk_edi_received_inbox_id_inbox"),
                  nullable=True),
        sa.Column("partner_id", sa.String(64), nullable=False),
        sa.Column("standard", sa.String(10), nullable=False),
        sa.Column("interchange_control", sa.String(14), nullable=False),
        sa.Column("group_control", sa.String(14), nullable=True),
        sa.Column("set_id", sa.String(10), nullable=True),
        sa.Column("control_number", sa.String(14), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("document_id", _ID,
                  sa.ForeignKey("documents.id", name="fk_edi_received_document_id_documents"), nullable=True),
        sa.Column("document_type", sa.String(40), nullable=True),
        sa.Column("po_number", sa.String(35), nullable=True),
        sa.Column("outbound_id", _ID,
                  sa.ForeignKey("edi_outbound.id", name="fk_edi_received_outbound_id_edi_outbound"),
                  nullable=True),
        sa.Column("dead_letter_id", _ID,
                  sa.ForeignKey("dead_letters.id", name="fk_edi_received_dead_letter_id_dead_letters"),
                  nullable=True),
        sa.Column("canonical", sa.JSON(), nullable=True),
        sa.Column("findings", sa.JSON(), nullable=False),
        sa.Column("notes", sa.JSON(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_edi_received")),
    )
    op.create_index("ix_edi_received_inbox", "edi_received", ["inbox_id"])
    op.create_index("ix_edi_received_po", "edi_received", ["partner_id", "po_number"])


def downgrade() -> None:
    op.drop_table("edi_received")
    op.drop_table("edi_outbound")
    op.drop_table("edi_seen")
    op.drop_table("edi_control_numbers")
