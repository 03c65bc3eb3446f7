"""managed facilities and membership requests

Facilities become records: every facility name in use becomes one, and users, uploads and
reports point at it. Existing users keep the facility they had (an admin set it, or they
registered before membership needed approval).

Revision ID: 8c1f2a9d3e47
Revises: 4ee3652d1f3a
Create Date: 2026-12-01 22:50:00+00:00
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from relaypacs.core.database import UTCDateTime

revision: str = "8c1f2a9d3e47"
down_revision: str | None = "4ee3652d1f3a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLE = sa.Enum(
    "clinician", "radiographer", "radiologist", "admin",
    name="user_role", native_enum=False, length=20,
)  # fmt: skip

facility = sa.table(
    "facility",
    sa.column("id", sa.Uuid()),
    sa.column("name", sa.String()),
    sa.column("is_active", sa.Boolean()),
    sa.column("created_at", UTCDateTime()),
    sa.column("updated_at", UTCDateTime()),
)


def _point_at_facilities(table: str) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.add_column(sa.Column("facility_id", sa.Uuid(), nullable=True))
        batch_op.create_index(batch_op.f(f"ix_{table}_facility_id"), ["facility_id"])
        batch_op.create_foreign_key(
            batch_op.f(f"fk_{table}_facility_id_facility"), "facility", ["facility_id"], ["id"]
        )


def upgrade() -> None:
    op.create_table(
        "facility",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_facility")),
        sa.UniqueConstraint("name", name=op.f("uq_facility_name")),
    )
    for table in ("user", "upload", "report"):
        _point_at_facilities(table)
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("requested_facility_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("requested_role", ROLE, nullable=True))
        batch_op.add_column(
            sa.Column("membership_requested_at", UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(
            batch_op.f("ix_user_requested_facility_id"), ["requested_facility_id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_user_requested_facility_id_facility"),
            "facility",
            ["requested_facility_id"],
            ["id"],
        )

    connection = op.get_bind()
    names: set[str] = set()
    for table in ("user", "upload", "report"):
        rows = connection.execute(sa.text(f'SELECT DISTINCT facility FROM "{table}"'))
        names.update(name for (name,) in rows if name)
    now = datetime.now(UTC)
    ids = {name: uuid.uuid4() for name in sorted(names)}
    if ids:
        op.bulk_insert(
            facility,
            [
                {"id": id_, "name": name, "is_active": True, "created_at": now, "updated_at": now}
                for name, id_ in ids.items()
            ],
        )
    for table in ("user", "upload", "report"):
        target = sa.table(table, sa.column("facility", sa.String()), sa.column("facility_id", sa.Uuid()))
        for name, id_ in ids.items():
            connection.execute(
                target.update().where(target.c.facility == name).values(facility_id=id_)
            )

    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_facility"))
        batch_op.drop_column("facility")
    for table in ("upload", "report"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(
                "facility", existing_type=sa.String(length=200), nullable=True
            )


def downgrade() -> None:
    connection = op.get_bind()
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("facility", sa.String(length=200), nullable=True))
    connection.execute(
        sa.text(
            'UPDATE "user" SET facility = '
            "(SELECT name FROM facility WHERE facility.id = \"user\".facility_id)"
        )
    )
    for table in ("user", "upload", "report"):
        connection.execute(sa.text(f"UPDATE \"{table}\" SET facility = '' WHERE facility IS NULL"))
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.alter_column("facility", existing_type=sa.String(length=200), nullable=False)
        batch_op.create_index(batch_op.f("ix_user_facility"), ["facility"])
        batch_op.drop_constraint(
            batch_op.f("fk_user_requested_facility_id_facility"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_user_requested_facility_id"))
        batch_op.drop_column("membership_requested_at")
        batch_op.drop_column("requested_role")
        batch_op.drop_column("requested_facility_id")
    for table in ("user", "upload", "report"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(
                batch_op.f(f"fk_{table}_facility_id_facility"), type_="foreignkey"
            )
            batch_op.drop_index(batch_op.f(f"ix_{table}_facility_id"))
            batch_op.drop_column("facility_id")
            if table != "user":
                batch_op.alter_column(
                    "facility", existing_type=sa.String(length=200), nullable=False
                )
    op.drop_table("facility")
