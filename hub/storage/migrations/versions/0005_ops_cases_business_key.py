"""operations: an index on the cases' business key

The SLA timers ask which detections already have a case by business key (500 keys a query),
the reconciliation runs ask once per mismatch, and the case queue filters by it: without an
index each of those was a scan of every case ever opened.

Revision ID: 0005_ops
Revises: 0004_ops
"""

from __future__ import annotations

from alembic import op

revision = "0005_ops"
down_revision = "0004_ops"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_cases_business_key", "cases", ["business_key", "type"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_cases_business_key", table_name="cases")
