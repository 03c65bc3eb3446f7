"""The gateway with one route made to raise, as a process: `python -m tests.ops.faulty_gateway
PORT` (settings from the environment, as `relaypacs serve`). POST /api/test/fault holds what
the request sent in local variables and puts it in its exception's message, as a careless
bug would; the error reporting must send neither."""

from __future__ import annotations

import sys

import uvicorn
from fastapi import FastAPI, Request

from relaypacs.main import create_app


class RoutingFault(RuntimeError):
    pass


async def fault(request: Request) -> None:
    body = await request.json()
    patient_name = body["patient_name"]
    password = body["password"]
    upload_token = request.headers.get("x-upload-token", "")
    authorization = request.headers.get("authorization", "")
    query = dict(request.query_params)
    raise RoutingFault(
        f"could not route the study of {patient_name} ({body.get('patient_id')}) "
        f"with {password} {upload_token} {authorization} {query}"
    )


def build() -> FastAPI:
    app = create_app()
    app.add_api_route("/api/test/fault", fault, methods=["POST"], include_in_schema=False)
    return app


if __name__ == "__main__":
    uvicorn.run(build(), host="127.0.0.1", port=int(sys.argv[1]), log_config=None)
