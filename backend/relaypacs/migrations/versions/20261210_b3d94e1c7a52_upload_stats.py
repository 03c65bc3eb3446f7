"""upload stats: delivery timestamps and the indexes the stats queries use

`forwarded_at` (first delivered everywhere) and `failed_at` (last dead-lettered) are new;
uploads forwarded or failed before this revision keep them empty (their last change,
`updated_at`, is the best guess and is used for them).

Revision ID: b3d94e1c7a52
Revises: 8c1f2a9d3e47
Create Date: 2026-12-10 10:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from relaypacs.core.database import UTCDateTime

revision: str = "b3d94e1c7a52"
down_revision: str | None = "8c1f2a9d3e47"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("upload") as batch:
        batch.add_column(sa.Column("forwarded_at", UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("failed_at", UTCDateTime(timezone=True), nullable=True))
    upload = sa.table(
        "upload",
        sa.column("state", sa.String()),
        sa.column("updated_at", UTCDateTime()),
        sa.column("forwarded_at", UTCDateTime()),
        sa.column("failed_at", UTCDateTime()),
    )
    op.execute(
        upload.update()
        .where(upload.c.state == "forwarded")
        .values(forwarded_at=upload.c.updated_at)
    )
    op.execute(
        upload.update().where(upload.c.state == "failed").values(failed_at=upload.c.updated_at)
    )
    op.create_index("ix_upload_completed_at", "upload", ["completed_at"])
    op.create_index("ix_upload_user_id_created_at", "upload", ["user_id", "created_at"])
    op.create_index("ix_upload_facility_id_created_at", "upload", ["facility_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_upload_facility_id_created_at", table_name="upload")
    op.drop_index("ix_upload_user_id_created_at", table_name="upload")
    op.drop_index("ix_upload_completed_at", table_name="upload")
    with op.batch_alter_table("upload") as batch:
        batch.drop_column("failed_at")
        batch.drop_column("forwarded_at")
