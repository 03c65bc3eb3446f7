from __future__ import annotations

from relaypacs.core.errors import AppError, NotFound


class ReportNotFound(NotFound):
    code = "report_not_found"
    message = "No such report."


class IllegalTransition(AppError):
    status_code = 409
    code = "illegal_transition"
    message = "This status change is not allowed from the report's current status."


class ReportNotReady(AppError):
    status_code = 409
    code = "report_not_ready"
    message = "The report is not ready yet; the PDF exists only for READY reports."


class ReportIncomplete(AppError):
    status_code = 422
    code = "report_incomplete"
    message = "A report needs an impression before it can be READY."


class InvalidAssignee(AppError):
    status_code = 422
    code = "invalid_assignee"
    message = "Reports can only be assigned to an active radiologist."


class MessageRequired(AppError):
    status_code = 422
    code = "message_required"
    message = "Requesting additional data needs a message for the clinician."


class ReportClosed(AppError):
    status_code = 409
    code = "report_closed"
    message = "The report is READY; it can no longer be changed."


class PacsPdfNotFound(NotFound):
    code = "pacs_pdf_not_found"
    message = "The PACS supplied no PDF for this report."


class NotReportOwner(AppError):
    status_code = 403
    code = "not_report_owner"
    message = "Only the study's uploader, a radiologist or an admin can add to this report."
