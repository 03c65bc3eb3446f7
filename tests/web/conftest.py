from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import fresh_database_url


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Serving static files does not depend on the database: SQLite only."""
    yield from fresh_database_url(request, "sqlite", tmp_path)
