"""edi: the AS2 Message-ID, MIC and MDN due time of an outbound interchange (asynchronous MDNs)

Revision ID: 0003_edi
Revises: 0002_edi
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_edi"
down_revision = "0002_edi"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("edi_outbound") as batch_op:
        batch_op.add_column(sa.Column("as2_message_id", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("as2_mic", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("as2_mic_algorithm", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("mdn_due_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("mdn_resends", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("as2_earlier_message_ids", sa.JSON(), nullable=True))
        batch_op.create_index("ix_edi_outbound_as2_message", ["as2_message_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("edi_outbound") as batch_op:
        batch_op.drop_index("ix_edi_outbound_as2_message")
        batch_op.drop_column("as2_earlier_message_ids")
        batch_op.drop_column("mdn_resends")
        batch_op.drop_column("mdn_due_at")
        batch_op.drop_column("as2_mic_algorithm")
        batch_op.drop_column("as2_mic")
        batch_op.drop_column("as2_message_id")
