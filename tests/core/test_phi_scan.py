"""The suite-wide PHI log scan (tests/phi_scan.py) is live: a run that logs a patient name
or ID the tests used fails, with the value, the test and the line named; a clean run
passes; name components are matched when distinctive, common words are not."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import phi_scan
from tests.dicom_factory import PATIENT_ID, ct_instance, pydicom_file
from tests.upload_client import init_body

ROOT = Path(__file__).resolve().parents[2]


def _scanner(*names: str, ids: tuple[str, ...] = ()) -> phi_scan.Scanner:
    values = phi_scan.PhiValues()
    for name in names:
        values.add_person_name(name)
    for value in ids:
        values.add_patient_id(value)
    return phi_scan.Scanner(values)


def test_a_name_is_found_in_any_case_with_name_separators_and_by_distinctive_parts() -> None:
    name = "OKAFOR^GRACE^Adaeze"
    scanner = _scanner(name)
    assert name in scanner.hits(f'patient="{name}"')
    assert name in scanner.hits("who=okafor grace adaeze")
    assert scanner.hits("Okafor, Grace") == [f"Okafor (of {name})", f"Grace (of {name})"]
    # A distinctive component alone.
    assert scanner.hits("surname=okafor") == [f"okafor (of {name})"]
    assert scanner.hits("first=GRACE") == [f"GRACE (of {name})"]
    for line in ("okaforgrace", "graceful", "mokafor", "okafor_grace_x"):
        assert scanner.hits(line) == [], line


def test_common_words_in_a_name_do_not_flag_alone_but_the_whole_name_does() -> None:
    scanner = _scanner("Patient^7", "Someone Else", "Doe^Patient3")
    assert scanner.hits("patient 7") == ["Patient^7"]
    assert scanner.hits("a patient arrived, 7 files") == []
    assert scanner.hits("someone else") == ["Someone Else"]
    assert scanner.hits("someone, somewhere, else") == []
    assert scanner.hits("patient=7") == []  # not a name's separator
    assert scanner.hits("Patient3 seen") == ["Patient3 (of Doe^Patient3)"]
    assert scanner.hits("doe") == ["doe (of Doe^Patient3)"]


def test_patient_ids_are_found_as_whole_words_in_any_case() -> None:
    scanner = _scanner(ids=("PID-0001", "1CT1"))
    assert scanner.hits("patient_id=pid-0001 x") == ["PID-0001"]
    assert scanner.hits("id 1CT1.") == ["1CT1"]
    assert scanner.hits("PID-00012 11CT1 xPID-0001") == []


def test_non_ascii_names_are_matched() -> None:
    scanner = _scanner("Παπαδοπούλου^Σοφία", "Müller^Jürgen")
    assert "Παπαδοπούλου^Σοφία" in scanner.hits("name=ΠΑΠΑΔΟΠΟΎΛΟΥ ΣΟΦΊΑ")
    assert scanner.hits("müller") == ["müller (of Müller^Jürgen)"]


def test_the_builders_register_the_names_and_ids_they_write() -> None:
    capture = phi_scan._capture()
    assert capture is not None, "the PHI scan plugin is not active in this run"
    ct_instance(study_uid="1.2.3", series_uid="1.2.3.4", number=1, patient_name="Vantwest^Iolo")
    init_body([], patient_name="Hargreave^Tamsin")
    pydicom_file("CT_small.dcm")
    values = capture.values
    assert ("vantwest", "iolo") in values.names and "vantwest" in values.components
    assert ("hargreave", "tamsin") in values.names
    assert PATIENT_ID.casefold() in values.ids
    assert ("compressedsamples", "ct1") in values.names and "1ct1" in values.ids


# --- the plugin in a pytest run of its own -------------------------------------------

CONFTEST = 'pytest_plugins = ["tests.phi_scan"]\n'
LEAKS = """
from relaypacs.core.config import CoreSettings
from relaypacs.core.logging import configure_logging, get_logger
from tests.dicom_factory import ct_instance

def test_an_app_logs_a_patient_name():
    # The factory registers the name it writes, as every test's data does.
    ct_instance(study_uid="1.2", series_uid="1.2.3", number=1, patient_name="QUILLON^ZEPHYRINE")
    configure_logging(CoreSettings(log_format="console"))
    get_logger("relaypacs.uploads").info("upload_received", who="Zephyrine Quillon")
"""
CLEAN = """
from relaypacs.core.config import CoreSettings
from relaypacs.core.logging import configure_logging, get_logger
from tests.dicom_factory import ct_instance

def test_an_app_logs_ids_only():
    ct_instance(study_uid="1.2", series_uid="1.2.3", number=1, patient_name="QUILLON^ZEPHYRINE")
    configure_logging(CoreSettings(log_format="json"))
    get_logger("relaypacs.uploads").info("upload_received", upload_id="5f1c", files=3)
"""
SERVER_LOG = """
from tests import phi_scan

def test_a_server_process_logs_a_patient_id(tmp_path):
    phi_scan.register_patient_id("MRN-88231-Q")
    log = tmp_path / "server.log"
    phi_scan.watch_log_file(log)
    log.write_text("INFO started\\nERROR lookup failed for MRN-88231-q\\n")
"""


@pytest.fixture
def isolated(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("PYTHONPATH", f"{ROOT}:{ROOT / 'backend'}")
    monkeypatch.chdir(pytester.path)
    pytester.makeconftest(CONFTEST)
    return pytester


@pytest.mark.slow
def test_a_run_whose_app_logs_a_patient_name_fails(isolated: pytest.Pytester) -> None:
    isolated.makepyfile(test_leak=LEAKS)
    result = isolated.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)  # the test itself passed: the scan failed the run
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "*PHI log scan: * log lines scanned (0 server log files), * PHI values checked, 1 hits*",
            "PHI in the logs: Zephyrine (of QUILLON^ZEPHYRINE); Quillon (of QUILLON^ZEPHYRINE)"
            " at test_leak.py::test_an_app_logs_a_patient_name",
            "*upload_received*Zephyrine Quillon*",
        ]
    )


@pytest.mark.slow
def test_a_clean_run_passes_and_reports_zero_hits(isolated: pytest.Pytester) -> None:
    isolated.makepyfile(test_clean=CLEAN)
    result = isolated.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["*PHI log scan: 1 log lines scanned*, 0 hits*"])


@pytest.mark.slow
def test_a_server_log_file_with_a_patient_id_fails_the_run(isolated: pytest.Pytester) -> None:
    isolated.makepyfile(test_server=SERVER_LOG)
    result = isolated.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "*PHI log scan: 2 log lines scanned (1 server log files), * 1 hits*",
            "PHI in the logs: MRN-88231-Q at *server.log:2 (started by test_server.py::*",
        ]
    )
