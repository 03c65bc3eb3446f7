"""The report status workflow: the one place that says which transitions are allowed.

    ASSIGNED ──► PENDING ──► READY
        │  ▲        │  ▲       ▲
        ▼  │        ▼  │       │
    ADDITIONAL_DATA_REQUIRED ──┘

A new report is ASSIGNED (in the reading queue, with or without a named radiologist).
PENDING means a radiologist is reporting it. ADDITIONAL_DATA_REQUIRED waits for the
clinician, whose answer (a note, or a linked upload) sends it back to PENDING. READY is
final; the PACS sync may make any open report READY.
"""

from __future__ import annotations

from relaypacs.core.permissions import Role
from relaypacs.reports.models import ReportStatus

S = ReportStatus

ALLOWED: dict[ReportStatus, frozenset[ReportStatus]] = {
    S.assigned: frozenset({S.pending, S.ready, S.additional_data_required}),
    S.pending: frozenset({S.assigned, S.ready, S.additional_data_required}),
    S.additional_data_required: frozenset({S.pending, S.assigned, S.ready}),
    S.ready: frozenset(),
}

# Who reads and reports: may take a report (assign to self, start it).
READERS = (Role.radiologist, Role.admin)

OPEN = frozenset(status for status in ReportStatus if status is not S.ready)


def can_transition(current: ReportStatus, target: ReportStatus) -> bool:
    return target in ALLOWED[current]
