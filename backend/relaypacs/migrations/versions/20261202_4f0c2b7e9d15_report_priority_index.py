"""report: an index for the readers' default order

Radiologists and admins see the reports STAT first, then the longest waiting
(`ORDER BY priority, created_at`); the worklist filters (unassigned, assigned to me) keep
that order, so it gets its own index as status + created_at has one.

Revision ID: 4f0c2b7e9d15
Revises: c5e8a1f3b920
Create Date: 2026-12-02 02:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "4f0c2b7e9d15"
down_revision: str | None = "c5e8a1f3b920"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("report", schema=None) as batch_op:
        batch_op.create_index(
            "ix_report_priority_created_at", ["priority", "created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("report", schema=None) as batch_op:
        batch_op.drop_index("ix_report_priority_created_at")
