"""The state tables are the one place that says which changes are allowed."""

from __future__ import annotations

import pytest

from relaypacs.pacs import states as job_states
from relaypacs.pacs.errors import IllegalJobTransition
from relaypacs.pacs.models import JobState
from relaypacs.uploads import states as upload_states
from relaypacs.uploads.errors import IllegalUploadTransition
from relaypacs.uploads.models import UploadState


def test_only_an_upload_in_progress_can_expire_or_be_cancelled() -> None:
    assert upload_states.sources(UploadState.expired) == (UploadState.uploading,)
    assert upload_states.sources(UploadState.cancelled) == (UploadState.uploading,)


@pytest.mark.parametrize("gone", [UploadState.expired, UploadState.cancelled])
def test_an_expired_or_cancelled_upload_never_changes_again(gone: UploadState) -> None:
    for target in UploadState:
        with pytest.raises(IllegalUploadTransition) as raised:
            upload_states.check(gone, target)
        assert raised.value.status_code == 409 and raised.value.code == "illegal_transition"


def test_a_completed_upload_never_goes_back_to_uploading() -> None:
    for completed in upload_states.COMPLETED:
        assert not upload_states.can_transition(completed, UploadState.uploading)
        assert not upload_states.can_transition(completed, UploadState.processing)


def test_every_upload_state_has_a_row() -> None:
    assert set(upload_states.ALLOWED) == set(UploadState)
    assert set(job_states.ALLOWED) == set(JobState)


def test_a_finished_forward_job_stays_finished_and_only_a_dead_one_is_retried() -> None:
    assert job_states.sources(JobState.pending) == (JobState.sending, JobState.dead)
    for final in (JobState.delivered, JobState.superseded):
        for target in JobState:
            with pytest.raises(IllegalJobTransition):
                job_states.check(final, target)
