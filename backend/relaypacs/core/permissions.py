"""Roles and the one permission map, applied by `auth.dependencies.require`."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    clinician = "clinician"
    radiographer = "radiographer"
    radiologist = "radiologist"
    admin = "admin"


SELF_REGISTRABLE_ROLES = frozenset({Role.clinician, Role.radiographer})


class Permission(StrEnum):
    upload_create = "upload:create"
    upload_read_own = "upload:read_own"
    upload_read_all = "upload:read_all"
    # Let an upload go on although the PACS holds its StudyInstanceUID for another patient.
    upload_override = "upload:override"
    report_read_own = "report:read_own"
    report_read_facility = "report:read_facility"
    report_read_all = "report:read_all"
    report_update = "report:update"
    user_manage = "user:manage"
    facility_manage = "facility:manage"
    audit_read = "audit:read"
    analytics_export = "analytics:export"
    pacs_manage = "pacs:manage"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.clinician: frozenset(
        {Permission.upload_create, Permission.upload_read_own, Permission.report_read_own}
    ),
    Role.radiographer: frozenset(
        {
            Permission.upload_create,
            Permission.upload_read_own,
            Permission.report_read_own,
            Permission.report_read_facility,
        }
    ),
    Role.radiologist: frozenset(
        {Permission.report_read_own, Permission.report_read_all, Permission.report_update}
    ),
    Role.admin: frozenset(Permission),
}


def has_permission(role: Role, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS[role]
