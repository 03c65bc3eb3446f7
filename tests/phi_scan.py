"""A suite-wide check that no patient data reaches the logs (a pytest plugin).

Every log record the app writes in this process is kept, rendered by the app's own
formatter (`relaypacs.core.logging.configure_logging` is wrapped so the capture survives
each app's reconfiguration: all `relaypacs.*`, uvicorn, SQLAlchemy, httpx … records that
reach the root logger), and so is every log file of a server process the tests start
(`watch_log_file`, called by tests/live_server.py). At the end of the run all of it is
scanned for the patient names and IDs the tests used, which the test data builders
register as they write them (tests/dicom_factory.py, tests/upload_client.py, the report
and notification factories, and every pydicom test file used, via `pydicom_file`). One
line with one of them fails the run; the summary gives lines scanned, values checked and
hits.

Matching ignores case. A name matches as its words in order, separated only by spaces,
`^` or commas ("DOE^JANE", "Doe Jane", "doe, jane"); each of its components also matches
alone when it is distinctive (three characters or more, with a letter, and not a common
word such as "Patient" or "Test"); a patient ID matches as a whole word.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pytest

WORD = re.compile(r"\w+")
NAME_GAP = re.compile(r"[\s^,]+")
# Words too common to flag alone when they are a name's component (the full name still is).
COMMON_WORDS = frozenset(
    [
        "patient",
        "patients",
        "test",
        "tester",
        "testing",
        "someone",
        "else",
        "secret",
        "live",
        "crash",
        "two",
        "processes",
        "new",
        "old",
        "unknown",
        "anonymous",
        "name",
        "other",
        "study",
        "first",
        "last",
        "upload",
        "report",
        "none",
        "null",
    ]
)
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _words(text: str) -> list[str]:
    return [w.casefold() for w in WORD.findall(text)]


def _distinctive(word: str) -> bool:
    return len(word) >= 3 and any(c.isalpha() for c in word) and word not in COMMON_WORDS


@dataclass
class PhiValues:
    """The patient names and IDs used by the tests of this run."""

    names: dict[tuple[str, ...], str] = field(default_factory=dict)  # words → as registered
    components: dict[str, str] = field(default_factory=dict)  # a distinctive word → its name
    ids: dict[str, str] = field(default_factory=dict)  # casefolded → as registered
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add_person_name(self, value: object) -> None:
        text = str(value or "").strip()
        words = tuple(_words(text))
        if not words:
            return
        with self._lock:
            self.names.setdefault(words, text)
            for component in re.split(r"[\^=]", text):
                for word in _words(component):
                    if _distinctive(word):
                        self.components.setdefault(word, text)

    def add_patient_id(self, value: object) -> None:
        text = str(value or "").strip()
        if len(text) >= 3:
            with self._lock:
                self.ids.setdefault(text.casefold(), text)

    def add_dataset(self, dataset: Any) -> None:
        """PatientName and PatientID anywhere in a pydicom dataset (DICOMDIR records too)."""
        for element in dataset.iterall():
            if element.keyword == "PatientName":
                self.add_person_name(element.value)
            elif element.keyword == "PatientID":
                self.add_patient_id(element.value)

    @property
    def count(self) -> int:
        return len(self.names) + len(self.components) + len(self.ids)


class Scanner:
    """Finds the registered values in a line of text."""

    def __init__(self, values: PhiValues) -> None:
        self.components = dict(values.components)
        self.by_first: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        for words, original in values.names.items():
            self.by_first.setdefault(words[0], []).append((words, original))
        ids = sorted(values.ids, key=len, reverse=True)
        self.ids = (
            re.compile("|".join(rf"(?<!\w){re.escape(i)}(?!\w)" for i in ids), re.IGNORECASE)
            if ids
            else None
        )
        self.id_names = dict(values.ids)

    def hits(self, line: str) -> list[str]:
        """The registered values found in `line` (a name's part as "part (of name)")."""
        found: list[str] = []
        matches = list(WORD.finditer(line))
        words = [m.group().casefold() for m in matches]
        for i, word in enumerate(words):
            if word in self.components:
                found.append(f"{matches[i].group()} (of {self.components[word]})")
            for candidate, original in self.by_first.get(word, ()):
                end = i + len(candidate)
                if tuple(words[i:end]) == candidate and all(
                    NAME_GAP.fullmatch(line[matches[j].end() : matches[j + 1].start()])
                    for j in range(i, end - 1)
                ):
                    found.append(original)
        if self.ids is not None:
            found.extend(self.id_names[m.group().casefold()] for m in self.ids.finditer(line))
        return list(dict.fromkeys(found))


@dataclass(frozen=True)
class Hit:
    where: str
    values: list[str]
    line: str


class LogCapture:
    """Keeps every captured record (one JSON line each) and the server log files to read."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / "captured-logs.jsonl"
        self._out: IO[str] = self.path.open("w", encoding="utf-8")
        self._lock = threading.Lock()
        self.current_test = "(outside tests)"
        self.files: dict[Path, str] = {}
        self.values = PhiValues()

    def write(self, text: str) -> None:
        with self._lock:
            self._out.write(json.dumps({"test": self.current_test, "text": text}) + "\n")

    def watch_file(self, path: Path) -> None:
        self.files.setdefault(Path(path), self.current_test)

    def records(self) -> Iterator[tuple[str, str]]:
        """(where, text) of everything captured: in-process records, then server logs."""
        with self._lock:
            self._out.flush()
        with self.path.open(encoding="utf-8") as captured:
            for raw in captured:
                record = json.loads(raw)
                yield record["test"], record["text"]
        for path, test in self.files.items():
            if path.is_file():
                with path.open(encoding="utf-8", errors="replace") as log:
                    for number, text in enumerate(log, 1):
                        yield f"{path}:{number} (started by {test})", text

    def close(self) -> None:
        self._out.close()
        shutil.rmtree(self.path.parent, ignore_errors=True)


class CaptureHandler(logging.Handler):
    """Hands every record, rendered by the app's formatter, to the capture."""

    NAME = "phi-scan"

    def __init__(self, capture: LogCapture, formatter: logging.Formatter | None) -> None:
        super().__init__(level=logging.NOTSET)
        self.capture = capture
        self.set_name(self.NAME)
        if formatter is not None:
            self.setFormatter(formatter)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.capture.write(self.format(record))
        except Exception:  # noqa: BLE001 (never break the app's logging)
            self.handleError(record)


_active: list[LogCapture] = []


def _capture() -> LogCapture | None:
    return _active[-1] if _active else None


# --- what test code calls ---------------------------------------------------------


def register_person_name(value: object) -> None:
    if (capture := _capture()) is not None:
        capture.values.add_person_name(value)


def registered_name(value: str) -> str:
    """`value`, registered as a patient name (for builders that write it inline)."""
    register_person_name(value)
    return value


def register_patient_id(value: object) -> None:
    if (capture := _capture()) is not None:
        capture.values.add_patient_id(value)


def register_dataset(dataset: Any) -> None:
    if (capture := _capture()) is not None:
        capture.values.add_dataset(dataset)


def watch_log_file(path: Path) -> None:
    """Scan this server log file at the end of the run."""
    if (capture := _capture()) is not None:
        capture.watch_file(path)


def scan(capture: LogCapture) -> tuple[int, list[Hit]]:
    scanner = Scanner(capture.values)
    lines = 0
    hits: list[Hit] = []
    for where, text in capture.records():
        for line in ANSI.sub("", text).splitlines() or [""]:
            lines += 1
            found = scanner.hits(line)
            if found:
                hits.append(Hit(where, found, line.strip()[:300]))
    return lines, hits


# --- the plugin -------------------------------------------------------------------


def _wrap_configure_logging(capture_of: Callable[[], LogCapture | None]) -> Callable[[], None]:
    """After every `configure_logging`, put the capture handler back on the root logger,
    with the app's formatter. Returns the undo."""
    from relaypacs.core import logging as app_logging

    original = app_logging.configure_logging

    def configure_and_capture(settings: Any) -> None:
        original(settings)
        capture = capture_of()
        if capture is None:
            return
        root = logging.getLogger()
        formatter = root.handlers[0].formatter if root.handlers else None
        root.handlers[:] = [h for h in root.handlers if h.get_name() != CaptureHandler.NAME]
        root.addHandler(CaptureHandler(capture, formatter))

    patched: list[tuple[Any, str]] = []
    for module in list(sys.modules.values()):
        if getattr(module, "configure_logging", None) is original:
            module.configure_logging = configure_and_capture  # type: ignore[attr-defined]
            patched.append((module, "configure_logging"))

    def undo() -> None:
        for module, name in patched:
            setattr(module, name, original)

    return undo


_undo: list[Callable[[], None]] = []
_results: dict[int, tuple[int, int, list[Hit]]] = {}


def pytest_configure(config: pytest.Config) -> None:
    directory = Path(tempfile.mkdtemp(prefix="phi-scan-"))
    capture = LogCapture(directory)
    _active.append(capture)
    config.stash[_KEY] = capture
    _undo.append(_wrap_configure_logging(_capture))


_KEY = pytest.StashKey[LogCapture]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(
    item: pytest.Item, nextitem: pytest.Item | None
) -> Generator[None, object, object]:
    capture = item.config.stash[_KEY]
    capture.current_test = item.nodeid
    try:
        return (yield)
    finally:
        capture.current_test = "(between tests)"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    capture = session.config.stash[_KEY]
    lines, hits = scan(capture)
    _results[id(session.config)] = (lines, capture.values.count, hits)
    if hits and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    lines, values, hits = _results.get(id(config), (0, 0, []))
    capture = config.stash[_KEY]
    terminalreporter.write_sep(
        "=",
        f"PHI log scan: {lines} log lines scanned ({len(capture.files)} server log files), "
        f"{values} PHI values checked, {len(hits)} hits",
        red=bool(hits),
        green=not hits,
    )
    for hit in hits[:50]:
        terminalreporter.write_line(f"PHI in the logs: {'; '.join(hit.values)} at {hit.where}")
        terminalreporter.write_line(f"    {hit.line}")


def pytest_unconfigure(config: pytest.Config) -> None:
    capture = config.stash.get(_KEY, None)
    if capture is None:
        return
    if _undo:
        _undo.pop()()
    if capture in _active:
        _active.remove(capture)
    capture.close()
