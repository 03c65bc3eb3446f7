from __future__ import annotations

from relaypacs.core.errors import AppError, NotFound


class UploadNotFound(NotFound):
    code = "upload_not_found"
    message = "No such upload."


class UploadExpired(AppError):
    status_code = 410
    code = "upload_expired"
    message = "This upload expired; start a new one."


class UploadCancelled(AppError):
    status_code = 410
    code = "upload_cancelled"
    message = "This upload was cancelled and its data deleted; start a new one."


class UploadCompleted(AppError):
    status_code = 409
    code = "upload_completed"
    message = "This upload is already complete; it takes no more chunks."


class UploadTooLarge(AppError):
    # The declared files add up to more than UPLOAD_MAX_TOTAL_BYTES: a well-formed request
    # refused by the server's configured limit (a sum no schema states), so 403. (413 is
    # for a request body itself too large.)
    status_code = 403
    code = "upload_too_large"
    message = "The upload is larger than allowed."


class TooManyFiles(AppError):
    status_code = 422
    code = "too_many_files"
    message = "The upload has more files than allowed."


class DuplicateStudy(AppError):
    status_code = 409
    code = "duplicate_study"
    message = "This study looks like one uploaded recently; send it anyway with force_upload."


class InvalidChunkRequest(AppError):
    status_code = 400
    code = "invalid_chunk"
    message = "The chunk request is invalid."


class MissingContentMd5(AppError):
    status_code = 400
    code = "missing_content_md5"
    message = "Send the chunk's MD5 in the Content-MD5 header (base64, RFC 1864)."


class ChecksumMismatch(AppError):
    status_code = 400
    code = "checksum_mismatch"
    message = "The chunk's bytes do not match its Content-MD5; nothing was stored."


class WrongChunkSize(AppError):
    status_code = 400
    code = "wrong_chunk_size"
    message = "The chunk does not have the expected size."


class ChunkOutOfRange(AppError):
    status_code = 400
    code = "chunk_out_of_range"
    message = "No such file or chunk index in this upload."


class ChunkConflict(AppError):
    status_code = 409
    code = "chunk_conflict"
    message = "This chunk is already stored with different bytes."


class UploadIncomplete(AppError):
    status_code = 409
    code = "upload_incomplete"
    message = "Some chunks are missing; send them and complete again."


class InvalidDicom(AppError):
    status_code = 422
    code = "invalid_dicom"
    message = "Some files are not valid DICOM; fix them or complete with skip_invalid=true."


class MultipleStudies(AppError):
    status_code = 422
    code = "multiple_studies"
    message = "The files belong to more than one study; upload each study on its own."


class NoInstances(AppError):
    status_code = 422
    code = "no_instances"
    message = "The upload contains no DICOM instance to send."


class IllegalUploadTransition(AppError):
    status_code = 409
    code = "illegal_transition"
    message = "This change is not allowed from the upload's current state."


class MultiplePatients(AppError):
    status_code = 422
    code = "multiple_patients"
    message = "The files belong to more than one patient (PatientID); upload each on its own."


class StudyUidConflict(AppError):
    status_code = 409
    code = "study_uid_conflict"
    message = (
        "The PACS already holds a study with this StudyInstanceUID for a different patient; "
        "nothing was sent. Check the files, or ask an administrator to review and override."
    )


class OverrideNotApplicable(AppError):
    status_code = 409
    code = "override_not_applicable"
    message = (
        "Only an upload stopped by a study UID conflict (still uploading, or failed) can be "
        "overridden."
    )
