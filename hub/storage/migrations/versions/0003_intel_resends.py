"""exception intelligence: documents a partner sent again, for the flows' duplicate check

Revision ID: 0003_intel
Revises: 0002_intel
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_intel"
down_revision = "0002_intel"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "resends",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("inbox_id", _ID, nullable=True),
        sa.Column("document_id", _ID, nullable=False),
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("document_type", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"], name=op.f("fk_resends_document_id_documents")),
        sa.ForeignKeyConstraint(["inbox_id"], ["inbox.id"], name=op.f("fk_resends_inbox_id_inbox")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resends")),
    )
    op.create_index("ix_resends_created", "resends", ["created_at"], unique=False)
    op.create_index("ix_resends_inbox", "resends", ["inbox_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_resends_inbox", table_name="resends")
    op.drop_index("ix_resends_created", table_name="resends")
    op.drop_table("resends")
