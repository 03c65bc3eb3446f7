"""baseline

Revision ID: 0207e526f94b
Revises: 
Create Date: 2026-11-28 06:33:05.469161+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import relaypacs.core.database

revision: str = '0207e526f94b'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
