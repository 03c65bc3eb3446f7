"""The tus endpoint's refusals: the status codes the tus 1.0.0 specification names, each
with our JSON error body and a stable code."""

from __future__ import annotations

from relaypacs.core.errors import AppError, NotFound

TUS_VERSION = "1.0.0"


class TusVersionUnsupported(AppError):
    status_code = 412
    code = "tus_version_unsupported"
    message = f"Send Tus-Resumable: {TUS_VERSION}; it is the only version this server speaks."

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message, headers={"Tus-Version": TUS_VERSION}, supported=[TUS_VERSION])


class InvalidTusHeader(AppError):
    status_code = 400
    code = "invalid_tus_header"
    message = "A tus header is missing or malformed."


class InvalidTusMetadata(AppError):
    status_code = 400
    code = "invalid_tus_metadata"
    message = (
        "Upload-Metadata must be comma-separated `key base64value` pairs naming the upload "
        "(upload_id) and the file (file_index) from POST /api/upload/init."
    )


class DeferLengthUnsupported(AppError):
    status_code = 400
    code = "defer_length_unsupported"
    message = "Every file's length is known from init: send Upload-Length, not Upload-Defer-Length."


class UploadLengthMismatch(AppError):
    status_code = 400
    code = "upload_length_mismatch"
    message = "Upload-Length must be the file's size as declared at init."


class FileOutOfRange(AppError):
    status_code = 400
    code = "file_out_of_range"
    message = "No file with this index in the upload."


class TusMaxSizeExceeded(AppError):
    status_code = 413
    code = "upload_too_large"
    message = "The upload is larger than this server takes (Tus-Max-Size)."


class TusBodyTooLarge(AppError):
    status_code = 413
    code = "payload_too_large"
    message = "The request body goes past the end of the upload (Upload-Length)."


class UnsupportedOffsetMediaType(AppError):
    status_code = 415
    code = "unsupported_media_type"
    message = "Send the bytes with Content-Type: application/offset+octet-stream."


class OffsetMismatch(AppError):
    status_code = 409
    code = "offset_mismatch"
    message = "Upload-Offset is not the upload's current offset; ask with HEAD and resume there."


class UnsupportedChecksumAlgorithm(AppError):
    status_code = 400
    code = "unsupported_checksum_algorithm"
    message = "Upload-Checksum must be `md5`, `sha1` or `sha256` and a base64 digest."


class TusChecksumMismatch(AppError):
    status_code = 460
    code = "checksum_mismatch"
    message = "The request body does not match its Upload-Checksum; nothing of it was stored."


class TusResourceNotFound(NotFound):
    code = "tus_upload_not_found"
    message = "No such tus upload: create it with POST /api/tus/ (or it was terminated)."


class FinalUploadIsReadOnly(AppError):
    status_code = 403
    code = "final_upload"
    message = "This file was assembled from partial uploads; it takes no PATCH."


class TooManyPartials(AppError):
    status_code = 400
    code = "too_many_partials"
    message = "This file has as many partial uploads as allowed; join or terminate some first."


class InvalidConcat(AppError):
    status_code = 400
    code = "invalid_upload_concat"
    message = (
        "Upload-Concat must be `partial`, or `final;` and the space-separated URLs of "
        "partial uploads of the same file."
    )


class PartialNotFound(AppError):
    status_code = 400
    code = "partial_not_found"
    message = "A partial upload named in Upload-Concat does not exist (or was terminated)."


class PartialIncomplete(AppError):
    status_code = 400
    code = "partial_incomplete"
    message = "A partial upload named in Upload-Concat is not finished yet."


class ConcatLengthMismatch(AppError):
    status_code = 400
    code = "concat_length_mismatch"
    message = "The partial uploads' lengths must add up to the file's declared size."
