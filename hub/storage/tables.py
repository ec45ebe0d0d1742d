"""The hub's tables: the database is the source of truth; queues only carry ids.

inbox        every payload as received (raw bytes or a blob reference, sha256, partner, channel)
jobs         durable work: one row per thing to do (ingest a receipt, deliver a document),
             with attempts, next attempt time and ordering key; survives restarts
documents    canonical documents, unique by idempotency key ("already seen" is decided here)
resends      every document a partner sent again (its idempotency key was known): flow checks
             count them (a partner resending what it already sent)
attempts     every processing attempt with its stage, outcome and error
dead_letters technical failures parked for engineers (raw stays in the inbox)
cases        business exceptions for operations people (never mixed with dead letters)
audit_log    who did what, when and why
api_keys     hashed keys with a role
partners     partner profiles
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    and_,
    literal_column,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal

__all__ = [
    "ApiKey",
    "Attempt",
    "AuditEntry",
    "Base",
    "Case",
    "ConnectorState",
    "DeadLetter",
    "Document",
    "InboxEntry",
    "Job",
    "JsonText",
    "NOT_AN_ORDER",
    "Partner",
    "Resend",
    "unread",
    "utcnow",
]

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite wants INTEGER PRIMARY KEY for autoincrement; PostgreSQL gets BIGINT.
Id = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps are UTC everywhere; SQLite hands them back naive, so tag them on read."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is not None and dialect.name == "sqlite":
            return value.astimezone(UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class JsonText(ColumnElement[str]):
    """The text at a fixed path of a JSON column: ``json_extract(c, '$.a.b')`` on SQLite,
    ``((c -> 'a') ->> 'b')`` on PostgreSQL. Queries and expression indexes render it the same
    way, which is what lets the database serve the query from the index.

    Usage:
        Index("ix_documents_po_number", JsonText(Document.__table__.c.canonical, "po_number"), ...)
    """

    inherit_cache = True
    type = String()
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement),
                           ("path", InternalTraversal.dp_string_list)]

    def __init__(self, column: Any, *path: str) -> None:
        if not path or not all(p.isidentifier() for p in path):  # the path is rendered inline
            raise ValueError(f"JSON path {path!r}: names only")
        self.column = column
        self.path = path

    @property
    def _from_objects(self) -> list[Any]:
        return list(self.column._from_objects)


@compiles(JsonText)
def _json_text(element: JsonText, compiler: SQLCompiler, **kw: Any) -> str:
    return f"json_extract({compiler.process(element.column, **kw)}, '$.{'.'.join(element.path)}')"


@compiles(JsonText, "postgresql")
def _json_text_pg(element: JsonText, compiler: SQLCompiler, **kw: Any) -> str:
    expr = compiler.process(element.column, **kw)
    for name in element.path[:-1]:
        expr = f"({expr} -> '{name}')"
    return f"({expr} ->> '{element.path[-1]}')"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON}


class Partner(Base):
    __tablename__ = "partners"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))  # customer | supplier | carrier | shop
    active: Mapped[bool] = mapped_column(default=True)
    paused: Mapped[bool] = mapped_column(default=False)
    profile: Mapped[dict[str, Any]] = mapped_column(default=dict)
    source: Mapped[str] = mapped_column(String(20), default="api")  # api | file
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class InboxEntry(Base):
    __tablename__ = "inbox"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    partner_id: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(20))
    document_type: Mapped[str | None] = mapped_column(String(40))
    content_type: Mapped[str | None] = mapped_column(String(120))
    filename: Mapped[str | None] = mapped_column(String(400))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    raw: Mapped[bytes | None] = mapped_column(LargeBinary)  # None when in the blob store or a duplicate
    blob_path: Mapped[str | None] = mapped_column(String(400))
    duplicate_of: Mapped[int | None] = mapped_column(ForeignKey("inbox.id"))
    correlation_id: Mapped[str | None] = mapped_column(String(255))
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # received | processed | duplicate | failed | case | retrying
    status: Mapped[str] = mapped_column(String(20), default="received")
    outcome: Mapped[dict[str, Any]] = mapped_column(default=dict)
    __table_args__ = (
        Index("ix_inbox_partner_sha", "partner_id", "sha256"),
        Index("ix_inbox_status", "status"),
    )


class Job(Base):
    __tablename__ = "jobs"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(20))  # ingest | deliver
    inbox_id: Mapped[int | None] = mapped_column(ForeignKey("inbox.id"))
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    partner_id: Mapped[str | None] = mapped_column(String(64))
    ordering_key: Mapped[str | None] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # queued | retrying | done | dead | cancelled
    status: Mapped[str] = mapped_column(String(20), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime | None]  # distributed mode: handed to the broker
    __table_args__ = (Index("ix_jobs_status_next", "status", "next_attempt_at"),)


def unread(jobs: Any) -> ColumnElement[bool]:
    """A receipt's job not read yet (``jobs``: the jobs table or an alias of it), in the words of
    ``ix_jobs_unread``'s WHERE: literals, which SQLite needs to match a query to the index."""
    return and_(jobs.c.kind == literal_column("'ingest'"), jobs.c.status == literal_column("'queued'"),
                jobs.c.attempts == literal_column("0"))


# A partner's interchanges are read in the order they came: each one read looks for an earlier
# receipt of its partner still waiting (``hub.runtime.processing._EARLIEST_UNREAD``, and the
# relay before it publishes a delivery). By the status index that look stepped over every job
# waiting, about 1 ms at 3,000 on PostgreSQL, for every interchange of a burst; this index
# holds only the waiting receipts, by partner and arrival (migration 0004_edi).
Index("ix_jobs_unread", Job.__table__.c.partner_id, Job.__table__.c.inbox_id,
      sqlite_where=unread(Job.__table__), postgresql_where=unread(Job.__table__))


class Document(Base):
    __tablename__ = "documents"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    inbox_id: Mapped[int | None] = mapped_column(ForeignKey("inbox.id"))
    partner_id: Mapped[str] = mapped_column(String(64))
    document_type: Mapped[str] = mapped_column(String(40))
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    business_key: Mapped[str] = mapped_column(String(200))
    revision: Mapped[str] = mapped_column(String(80), default="0")
    direction: Mapped[str] = mapped_column(String(10), default="inbound")
    # accepted | delivered | delivery_failed | ...
    status: Mapped[str] = mapped_column(String(20), default="accepted")
    canonical: Mapped[dict[str, Any]] = mapped_column()
    erp_document_number: Mapped[str | None] = mapped_column(String(40))
    # what makes two orders the same order (duplicate-order detection looks it up)
    fingerprint: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    __table_args__ = (
        Index("ix_documents_business_key", "business_key"),
        Index("ix_documents_fingerprint", "fingerprint"),
        Index("ix_documents_partner_type", "partner_id", "document_type"),
        Index("ix_documents_created", "created_at"),
        Index("ix_documents_erp_number", "erp_document_number"),  # reconciliation, the ERP feed (0004_ops)
    )


# What the detectors look documents up by (``hub.ops.history``), as expression indexes over the
# canonical JSON (added by migration 0004_ops): kept by the database on every insert, whoever inserts.
# None starts with document_type: queries by type and time would take them over the created_at index.
_DOC = Document.__table__.c
Index("ix_documents_po_number", JsonText(_DOC.canonical, "po_number"), _DOC.document_type)
Index("ix_documents_buyer_order_date", JsonText(_DOC.canonical, "buyer", "id"), _DOC.document_type,
      JsonText(_DOC.canonical, "order_date"))
Index("ix_documents_seller_invoice_date", JsonText(_DOC.canonical, "seller", "id"), _DOC.document_type,
      JsonText(_DOC.canonical, "invoice_date"))
# The SLA timers and the SLA-risk pass read the window's documents but purchase orders every few
# seconds (``hub.ops.timers.expectation_documents``; orders to suppliers come by their own
# indexes). Customers' orders are most of a distributor's documents: this partial index leaves
# them out (migration 0006_ops), where the created_at index made each pass step over all of them.
# A query uses it only if it says NOT_AN_ORDER in these words (a literal: SQLite cannot match a
# bound parameter to an index's WHERE).
NOT_AN_ORDER = _DOC.document_type != literal_column("'purchase_order'")
Index("ix_documents_created_not_order", _DOC.created_at, sqlite_where=NOT_AN_ORDER, postgresql_where=NOT_AN_ORDER)


class Resend(Base):
    """A document received again: the receipt it came in and the document the hub already had
    (added by migration 0003_intel). Same bytes received again are an inbox replay instead
    (``InboxEntry.duplicate_of``), not processed, so they have no row here."""

    __tablename__ = "resends"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    inbox_id: Mapped[int | None] = mapped_column(ForeignKey("inbox.id"))
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"))
    partner_id: Mapped[str] = mapped_column(String(64))
    document_type: Mapped[str] = mapped_column(String(40))
    # when the hub recognised it, as a document's created_at (flows count both by the hour)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    __table_args__ = (Index("ix_resends_created", "created_at"), Index("ix_resends_inbox", "inbox_id"))


class Attempt(Base):
    __tablename__ = "attempts"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id"))
    inbox_id: Mapped[int | None] = mapped_column(ForeignKey("inbox.id"))
    number: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    stage: Mapped[str | None] = mapped_column(String(40))
    outcome: Mapped[str] = mapped_column(String(20))  # ok | retry | dead_letter | case | ignore
    error_code: Mapped[str | None] = mapped_column(String(80))
    error: Mapped[str | None] = mapped_column(Text)
    worker: Mapped[str | None] = mapped_column(String(80))
    __table_args__ = (Index("ix_attempts_inbox", "inbox_id"), Index("ix_attempts_job", "job_id"))


class DeadLetter(Base):
    __tablename__ = "dead_letters"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id"), unique=True)
    inbox_id: Mapped[int | None] = mapped_column(ForeignKey("inbox.id"))
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    partner_id: Mapped[str | None] = mapped_column(String(64))
    document_type: Mapped[str | None] = mapped_column(String(40))
    stage: Mapped[str] = mapped_column(String(40))
    error_code: Mapped[str] = mapped_column(String(80))
    error: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(20), default="open")  # open | replaying | resolved | discarded
    replay_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    resolved_at: Mapped[datetime | None]
    __table_args__ = (Index("ix_dead_letters_status", "status", "partner_id"),)


class Case(Base):
    __tablename__ = "cases"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    type: Mapped[str] = mapped_column(String(60))
    severity: Mapped[str] = mapped_column(String(10), default="medium")
    status: Mapped[str] = mapped_column(String(20), default="open")  # open | resolved | ...
    partner_id: Mapped[str | None] = mapped_column(String(64))
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    inbox_id: Mapped[int | None] = mapped_column(ForeignKey("inbox.id"))
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"))
    summary: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    score: Mapped[float] = mapped_column(default=0.0)
    owner: Mapped[str | None] = mapped_column(String(80))
    due_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # added by migration 0002_ops (case queue)
    business_key: Mapped[str | None] = mapped_column(String(200))
    approver_role: Mapped[str | None] = mapped_column(String(80))
    resolution: Mapped[str | None] = mapped_column(String(80))
    resolved_at: Mapped[datetime | None]
    __table_args__ = (Index("ix_cases_status_score", "status", "score"),
                      Index("ix_cases_business_key", "business_key", "type"))  # 0005_ops


class AuditEntry(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(60))
    target_type: Mapped[str] = mapped_column(String(40))
    target_id: Mapped[str | None] = mapped_column(String(80))
    reason: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    __table_args__ = (Index("ix_audit_target", "target_type", "target_id"),)


class ConnectorState(Base):
    __tablename__ = "connector_state"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(default=dict)
    lease_owner: Mapped[str | None] = mapped_column(String(120))
    lease_until: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ApiKey(Base):
    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    role: Mapped[str] = mapped_column(String(20))  # viewer | operator | admin | ingest
    partner_id: Mapped[str | None] = mapped_column(String(64))  # ingest keys may be bound to one partner
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    __table_args__ = (UniqueConstraint("prefix", name="uq_api_keys_prefix"),)


# Feature tables live in their own modules on the same metadata; importing them here means
# anything that loads the schema (Alembic, tests, the hub) sees all of it.
from hub.storage import feature_tables  # noqa: E402,F401
