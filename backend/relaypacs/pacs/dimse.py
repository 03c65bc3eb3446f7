"""DIMSE C-STORE with pynetdicom, for PACS that do not speak DICOMweb (blocking: run it
in a worker thread). The answer is mapped onto the same StowResult as STOW-RS."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence

from pynetdicom import AE, StoragePresentationContexts, _config

from relaypacs.pacs.config import DestinationSettings
from relaypacs.pacs.dicomweb import InstanceSource
from relaypacs.pacs.stow import FailedInstance, StowResult
from relaypacs.pacs.verify import StoredDataCorrupt

# Send datasets from their files in fragments rather than decoding them into memory.
_config.STORE_SEND_CHUNKED_DATASET = True


def _application_entity(dest: DestinationSettings) -> AE:
    ae = AE(ae_title=dest.calling_aet)
    ae.requested_contexts = StoragePresentationContexts[:120]
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = dest.timeout_seconds
    return ae


def c_echo(dest: DestinationSettings) -> bool:
    ae = AE(ae_title=dest.calling_aet)
    ae.add_requested_context("1.2.840.10008.1.1")
    assoc = ae.associate(dest.host, dest.port, ae_title=dest.called_aet or "ANY-SCP")
    if not assoc.is_established:
        return False
    try:
        status = assoc.send_c_echo()
        return bool(status and status.Status == 0)
    finally:
        assoc.release()


def c_store(dest: DestinationSettings, parts: Sequence[InstanceSource]) -> StowResult:
    """Send each instance on one association; a refused association is retryable."""
    ae = _application_entity(dest)
    assoc = ae.associate(dest.host, dest.port, ae_title=dest.called_aet or "ANY-SCP")
    if not assoc.is_established:
        return StowResult(http_status=None, error="association rejected or PACS unreachable")
    result = StowResult(http_status=200)
    try:
        for part in parts:
            try:
                with tempfile.NamedTemporaryFile(suffix=".dcm") as spool, part.open() as source:
                    # Read through the verifier to the end before anything is sent: an
                    # instance whose stored bytes changed is not sent, and the others still
                    # are (each is its own C-STORE: those before it are not sent again).
                    try:
                        shutil.copyfileobj(source, spool, 1024 * 1024)
                    except StoredDataCorrupt as exc:
                        result.corrupt.append(part.sop_instance_uid)
                        result.integrity_failures.append(exc)
                        continue
                    spool.flush()
                    status = assoc.send_c_store(spool.name)
            except Exception as exc:  # noqa: BLE001 - stored data missing, association aborted
                # What was stored before stays recorded (never sent again); the rest waits
                # for the next attempt.
                result.http_status = None
                result.error = f"C-STORE of an instance failed: {type(exc).__name__}"
                break
            code = int(status.Status) if status and "Status" in status else None
            if code is None:
                result.failed.append(FailedInstance(part.sop_instance_uid, 0xA700))
                result.error = "no C-STORE response"
            elif code == 0 or 0xB000 <= code <= 0xBFFF:
                result.referenced.append(part.sop_instance_uid)
            else:
                result.failed.append(FailedInstance(part.sop_instance_uid, code))
    finally:
        if assoc.is_established:
            assoc.release()
    return result
