"""upload chunk: what completion needs, computed at receipt

`complete` no longer reads a study's bytes again: the first chunk of each file keeps the
file's DICOM verdict (`header`, JSON), the last chunk the file's SHA-256 and the MD5 chain
of the chunks it was computed over (`file_sha256`, `sha256_chain`), when the chunks came
in order to one process (see uploads/receipt.py). All three are nullable: without them a
file is read at completion as before.

Revision ID: a4d2e8c61f37
Revises: e5a1c7d0b942
Create Date: 2026-12-02 11:30:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a4d2e8c61f37"
down_revision: str | None = "e5a1c7d0b942"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("upload_chunk", schema=None) as batch_op:
        batch_op.add_column(sa.Column("header", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("file_sha256", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("sha256_chain", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("upload_chunk", schema=None) as batch_op:
        batch_op.drop_column("sha256_chain")
        batch_op.drop_column("file_sha256")
        batch_op.drop_column("header")
