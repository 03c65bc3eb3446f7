"""Structured logging: JSON in production, readable lines in development.

Every record carries the request id (bound in the request middleware). Request
bodies and query strings are never logged, because they may carry patient data; nor are
exception messages (a failed parse, a PACS's error text or a value in an f-string may
quote a patient's name): an error's log gives its type and where it was raised, frame by
frame.
"""

from __future__ import annotations

import logging
import sys
import traceback
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, ExcInfo

from relaypacs.core.config import CoreSettings

WITHHELD = "(message withheld: it may carry patient data)"
_CAUSE = "\nThe above exception was the direct cause of the following exception:\n\n"
_CONTEXT = "\nDuring handling of the above exception, another exception occurred:\n\n"


def redacted_traceback(exc_info: ExcInfo) -> str:
    """The stack of an exception and of its causes, with each exception's type: never
    its message, nor source text (the frames say where to read it)."""
    chain: list[tuple[BaseException, str]] = []
    exc: BaseException | None = exc_info[1]
    link = ""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        chain.append((exc, link))
        if exc.__cause__ is not None:
            exc, link = exc.__cause__, _CAUSE
        elif exc.__context__ is not None and not exc.__suppress_context__:
            exc, link = exc.__context__, _CONTEXT
        else:
            exc = None
    parts: list[str] = []
    for exc, link in reversed(chain):
        lines = ["Traceback (most recent call last):"]
        lines += [
            f'  File "{frame.filename}", line {frame.lineno}, in {frame.name}'
            for frame in traceback.extract_tb(exc.__traceback__)
        ]
        kind = type(exc)
        lines.append(f"{kind.__module__}.{kind.__qualname__} {WITHHELD}")
        parts.append("\n".join(lines) + "\n" + link)
    return "".join(parts).rstrip("\n")


def _console_exception(sio: TextIO, exc_info: ExcInfo) -> None:
    sio.write("\n" + redacted_traceback(exc_info))


def _wrap_for_formatter(logger: Any, name: str, event_dict: EventDict) -> Any:
    """`ProcessorFormatter.wrap_for_formatter`, also handing the exception to the standard
    record (as `logger.exception` does), so that a handler beside ours, such as Sentry's
    logging integration, sees it. Ours renders the event dict's copy and ignores it."""
    args, kwargs = structlog.stdlib.ProcessorFormatter.wrap_for_formatter(logger, name, event_dict)
    exc_info = event_dict.get("exc_info")
    if exc_info:
        kwargs["exc_info"] = exc_info
    return args, kwargs


def configure_logging(settings: CoreSettings) -> None:
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Any
    if settings.json_logs:
        renderer = structlog.processors.JSONRenderer()
        shared.append(structlog.processors.ExceptionRenderer(redacted_traceback))
    else:
        renderer = structlog.dev.ConsoleRenderer(
            colors=sys.stderr.isatty(), exception_formatter=_console_exception
        )

    structlog.configure(
        # Drop below-level events before any processor runs (one per request otherwise).
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            _wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)
    # uvicorn's access log prints query strings; the request middleware logs instead.
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    access = logging.getLogger("uvicorn.access")
    access.handlers[:] = []
    access.propagate = False
    access.disabled = True
    # httpx logs every request URL at INFO; QIDO-RS query strings can carry patient data.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    logger: structlog.stdlib.BoundLogger = structlog.stdlib.get_logger(name)
    return logger
