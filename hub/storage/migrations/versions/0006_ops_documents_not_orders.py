"""operations: a partial index on the documents that are not purchase orders, by time

The SLA timers (every 5 s) and the SLA-risk pass read the last 30 days' documents but purchase
orders. By the created_at index each pass stepped over every order of the window, most of a
distributor's documents: 0.1–0.6 s a pass at 158,000 orders on SQLite, growing with them. This
index leaves orders out.

Revision ID: 0006_ops
Revises: 0005_ops
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_ops"
down_revision = "0005_ops"
branch_labels = None
depends_on = None

NOT_AN_ORDER = sa.text("document_type != 'purchase_order'")


def upgrade() -> None:
    op.create_index("ix_documents_created_not_order", "documents", ["created_at"], unique=False,
                    sqlite_where=NOT_AN_ORDER, postgresql_where=NOT_AN_ORDER)


def downgrade() -> None:
    op.drop_index("ix_documents_created_not_order", table_name="documents")
