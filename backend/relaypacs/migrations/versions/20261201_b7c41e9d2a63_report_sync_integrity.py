"""report sync integrity: the study's PatientID, study-UID conflict overrides, sync
warnings, and an index to tell the gateway's own instances from a PACS's reports

Revision ID: b7c41e9d2a63
Revises: 8c1f2a9d3e47
Create Date: 2026-12-01 12:00:00.000000+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import relaypacs.core.database

revision: str = "b7c41e9d2a63"
down_revision: str | None = "8c1f2a9d3e47"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("study", schema=None) as batch_op:
        batch_op.add_column(sa.Column("patient_id", sa.String(length=64), nullable=True))
    with op.batch_alter_table("upload", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "study_conflict_overridden",
                sa.Boolean(),
                server_default=sa.false(),
                nullable=False,
            )
        )
    with op.batch_alter_table("instance", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_instance_sop_instance_uid"), ["sop_instance_uid"], unique=False
        )
    with op.batch_alter_table("report", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sync_warning_code", sa.String(length=32), nullable=True))
        batch_op.add_column(
            sa.Column("sync_warning_sop_instance_uid", sa.String(length=64), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "sync_warning_at",
                relaypacs.core.database.UTCDateTime(timezone=True),
                nullable=True,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("report", schema=None) as batch_op:
        batch_op.drop_column("sync_warning_at")
        batch_op.drop_column("sync_warning_sop_instance_uid")
        batch_op.drop_column("sync_warning_code")
    with op.batch_alter_table("instance", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_instance_sop_instance_uid"))
    with op.batch_alter_table("upload", schema=None) as batch_op:
        batch_op.drop_column("study_conflict_overridden")
    with op.batch_alter_table("study", schema=None) as batch_op:
        batch_op.drop_column("patient_id")
