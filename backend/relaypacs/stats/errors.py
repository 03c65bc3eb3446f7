from __future__ import annotations

from relaypacs.core.errors import AppError


class InvalidTimezone(AppError):
    status_code = 422
    code = "invalid_timezone"
    message = "tz must be an IANA time zone name, such as Europe/London or UTC."


class InvalidFacility(AppError):
    status_code = 422
    code = "invalid_facility"
    message = "facility must be the id (a UUID) of an existing facility."


class FacilityFilterForbidden(AppError):
    status_code = 403
    code = "facility_filter_forbidden"
    message = "Only administrators may filter the stats by facility."
