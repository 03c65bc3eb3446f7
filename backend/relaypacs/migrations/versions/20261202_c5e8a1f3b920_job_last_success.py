"""job_lock.last_success_at: when each scheduled job last succeeded

Kept in the database rather than in each process, so the
`relaypacs_scheduled_job_last_success_timestamp_seconds` gauge is the same on every
replica and survives restarts (a daily job would otherwise look "never run" for a day
after every deploy).

Revision ID: c5e8a1f3b920
Revises: 59a867771ea7
Create Date: 2026-12-02 02:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import relaypacs.core.database

revision: str = "c5e8a1f3b920"
down_revision: str | None = "59a867771ea7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("job_lock", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "last_success_at",
                relaypacs.core.database.UTCDateTime(timezone=True),
                nullable=True,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("job_lock", schema=None) as batch_op:
        batch_op.drop_column("last_success_at")
