"""upload modality: as long as DICOM allows

A DICOM modality (VR CS) has up to 16 characters, and two defined terms the API takes
(CTPROTOCOL, TEXTUREMAP) have 10: `upload.modality` held 8, so on PostgreSQL such an
upload failed with a 500 (found by the contract fuzz, tests/contract). Reports, series
and instances already hold 16.

Revision ID: 59a867771ea7
Revises: b3d94e1c7a52
Create Date: 2026-12-02 00:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "59a867771ea7"
down_revision: str | None = "b3d94e1c7a52"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("upload", schema=None) as batch_op:
        batch_op.alter_column(
            "modality", existing_type=sa.String(length=8), type_=sa.String(length=16)
        )


def downgrade() -> None:
    with op.batch_alter_table("upload", schema=None) as batch_op:
        batch_op.alter_column(
            "modality", existing_type=sa.String(length=16), type_=sa.String(length=8)
        )
