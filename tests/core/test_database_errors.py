"""A database error never carries the values bound to its statement (patient names,
tokens): the engine hides them from messages and logs."""

from __future__ import annotations

import uuid

import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

PATIENT = "ZZTESTPATIENT^HIDDEN"


async def test_a_failing_statement_does_not_show_its_bound_values(app: FastAPI) -> None:
    async with app.state.database.sessionmaker() as session:
        with pytest.raises(DBAPIError) as raised:
            # No such column: the statement fails with the patient name bound to it.
            await session.execute(
                text("UPDATE upload SET no_such_column = :name WHERE id = :id"),
                {"name": PATIENT, "id": uuid.uuid4().hex},
            )
    message = str(raised.value)
    assert "no_such_column" in message  # the statement is still there to debug
    assert PATIENT not in message
    assert "parameters hidden" in message
