"""operations: indexes for the detectors' document lookups (PO number, buyer, seller; ship notices' orders) and the ERP number

Expression indexes over the canonical JSON (``json_extract`` on SQLite, ``->``/``->>`` on
PostgreSQL, written exactly as ``hub.storage.tables.JsonText`` renders them, so queries use
them), and ``ship_notice_orders``: the PO numbers on each received ship notice, filled here
for the notices already held.

SQLite: the database cannot report expression indexes back (a later migration that makes
batch mode copy ``documents`` must create these three again).

Revision ID: 0004_ops
Revises: 0003_ops
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_ops"
down_revision = "0003_ops"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# name: (JSON path, document_type, JSON path...): not led by document_type, which queries by
# type and time would then use instead of ix_documents_created
_INDEXES = {
    "ix_documents_po_number": ("po_number", "document_type"),
    "ix_documents_buyer_order_date": ("buyer.id", "document_type", "order_date"),
    "ix_documents_seller_invoice_date": ("seller.id", "document_type", "invoice_date"),
}


def _json_text(path: str, postgresql: bool) -> str:
    if not postgresql:
        return f"json_extract(canonical, '$.{path}')"
    *parents, name = path.split(".")
    expr = "canonical"
    for parent in parents:
        expr = f"({expr} -> '{parent}')"
    return f"({expr} ->> '{name}')"


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for name, parts in _INDEXES.items():
        columns = [c if c == "document_type" else sa.text(_json_text(c, postgresql)) for c in parts]
        op.create_index(name, "documents", columns, unique=False)
    # reconciliation and the ERP document feed find orders by the ERP's sales order number
    op.create_index("ix_documents_erp_number", "documents", ["erp_document_number"], unique=False)
    op.create_table(
        "ship_notice_orders",
        sa.Column("document_id", _ID, autoincrement=False, nullable=False),
        sa.Column("po_number", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"],
                                name=op.f("fk_ship_notice_orders_document_id_documents")),
        sa.PrimaryKeyConstraint("document_id", "po_number", name=op.f("pk_ship_notice_orders")),
    )
    op.create_index("ix_ship_notice_orders_po", "ship_notice_orders", ["po_number"], unique=False)
    # The notices already held: each distinct PO number of their orders[].
    if postgresql:
        orders = ("json_array_elements(CASE json_typeof(d.canonical -> 'orders') WHEN 'array' "
                  "THEN d.canonical -> 'orders' ELSE '[]'::json END) AS o(value)")
        po, is_object = "(o.value ->> 'po_number')", "json_typeof(o.value) = 'object'"
    else:
        orders = "json_each(d.canonical, '$.orders') AS o"
        po, is_object = "json_extract(o.value, '$.po_number')", "o.type = 'object'"
    op.execute(f"INSERT INTO ship_notice_orders (document_id, po_number) "
               f"SELECT DISTINCT d.id, {po} FROM documents AS d, {orders} "
               f"WHERE d.document_type = 'ship_notice' AND d.direction = 'inbound' AND {is_object} "
               f"AND {po} IS NOT NULL")


def downgrade() -> None:
    op.drop_index("ix_ship_notice_orders_po", table_name="ship_notice_orders")
    op.drop_table("ship_notice_orders")
    op.drop_index("ix_documents_erp_number", table_name="documents")
    for name in reversed(_INDEXES):
        op.drop_index(name, table_name="documents")
