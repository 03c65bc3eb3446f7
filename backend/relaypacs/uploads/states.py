"""The upload's states: the one place that says which changes are allowed.

    uploading ──► processing ──► queued ──► forwarding ◄──► forwarded
      │  │  ▲         │                       │   ▲        (sent again)
      │  │  └─────────┘ (a file failed        ▼   │ (an admin retried
      │  │               validation)         failed    the dead job)
      │  └──► cancelled (by its sender)
      └─────► expired (not completed within UPLOAD_EXPIRY_HOURS)

`queued` onwards is set by `relaypacs.flows.delivery` from the forward jobs' states.
"""

from __future__ import annotations

from relaypacs.core.states import Transitions
from relaypacs.uploads.errors import IllegalUploadTransition
from relaypacs.uploads.models import UploadState

S = UploadState

ALLOWED: dict[UploadState, frozenset[UploadState]] = {
    S.uploading: frozenset({S.processing, S.expired, S.cancelled}),
    # processing → processing: a run silent for too long died; the next `complete` takes over.
    S.processing: frozenset({S.processing, S.uploading, S.queued}),
    S.queued: frozenset({S.forwarding, S.forwarded, S.failed}),
    S.forwarding: frozenset({S.forwarding, S.forwarded, S.failed}),
    S.failed: frozenset({S.failed, S.forwarding}),
    # forwarded → forwarding: a delivered job is sent again (its worker lost the lease and
    # another took it over); the report is not opened twice.
    S.forwarded: frozenset({S.forwarded, S.forwarding}),
    S.expired: frozenset(),
    S.cancelled: frozenset(),
}

# Completed: recorded and queued, whatever happened to the delivery since.
COMPLETED = (S.queued, S.forwarding, S.forwarded, S.failed)
# Gone: the data is deleted (or being deleted) and nothing more happens to the upload.
GONE = (S.expired, S.cancelled)


TABLE = Transitions(ALLOWED, IllegalUploadTransition)
can_transition = TABLE.can_transition
sources = TABLE.sources
check = TABLE.check
