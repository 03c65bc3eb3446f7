from __future__ import annotations

from relaypacs.core.errors import AppError, NotFound


class FacilityNotFound(NotFound):
    code = "facility_not_found"
    message = "No such facility."


class UnknownFacility(NotFound):
    # A facility id given in a request body that names no open facility.
    code = "unknown_facility"
    message = "The facility does not exist or is not open to new members."


class FacilityNameTaken(AppError):
    status_code = 409
    code = "facility_name_taken"
    message = "A facility with this name already exists."
