"""Prometheus metrics shared across the app (the default registry, one per process).

Labels never carry patient data: only fixed vocabularies (outcomes, reasons, service
levels) and configured destination names. Ratios (`upload_success_rate`,
`pacs_connectivity`) are recording rules over these counters, not per-process gauges.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import Counter, Gauge, Histogram

from relaypacs.core.service_levels import ServiceLevel

HTTP_REQUESTS = Counter(
    "relaypacs_http_requests_total",
    "HTTP requests handled, by method, route template and status code.",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "relaypacs_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route template.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
UPLOAD_CHUNKS = Counter(
    "relaypacs_upload_chunks_total",
    "Upload chunks accepted, by outcome (stored, duplicate: the same bytes again).",
    ["outcome"],
)
UPLOAD_CHUNKS_REJECTED = Counter(
    "relaypacs_upload_chunks_rejected_total",
    "Upload chunks refused, by reason (the error code: checksum_mismatch, chunk_conflict…).",
    ["reason"],
)
UPLOAD_BYTES = Counter("relaypacs_upload_bytes_total", "Upload bytes durably stored.")
UPLOAD_FILES_CHECKED = Counter(
    "relaypacs_upload_files_checked_total",
    "Files checked at completion, by how: at_receipt (digests and header computed as the "
    "chunks came in, no byte read again) or read_again (the file was read at completion).",
    ["how"],
)
UPLOADS_STARTED = Counter(
    "relaypacs_uploads_started_total", "Uploads initialised, by service level.", ["service_level"]
)
UPLOADS_COMPLETED = Counter(
    "relaypacs_uploads_completed_total",
    "Upload completions, by outcome (queued, invalid_dicom, incomplete, duplicate, "
    "study_uid_conflict) and service level.",
    ["outcome", "service_level"],
)
UPLOADS_FINISHED = Counter(
    "relaypacs_uploads_finished_total",
    "Uploads reaching an end state, by outcome (forwarded, failed, cancelled, expired) and "
    "service level.",
    ["outcome", "service_level"],
)
FORWARD_JOBS = Counter(
    "relaypacs_forward_jobs_total",
    "Forward job attempts ended, by destination and outcome (delivered, retry, dead, "
    "superseded: handed to the fallback).",
    ["destination", "outcome"],
)
PACS_UP = Gauge(
    "relaypacs_pacs_up", "Whether the destination answered its last health check.", ["destination"]
)
PACS_QUEUE_DEPTH = Gauge(
    "relaypacs_pacs_queue_depth",
    "Forward jobs waiting or in progress, by destination.",
    ["destination"],
)
PACS_QUEUE_OLDEST = Gauge(
    "relaypacs_pacs_queue_oldest_age_seconds",
    "Age of the oldest forward job waiting or in progress, by destination (0: none).",
    ["destination"],
)
SSE_CONNECTIONS = Gauge(
    "relaypacs_sse_connections", "Server-Sent Event streams open in this process."
)
PACS_INSTANCES = Counter(
    "relaypacs_pacs_forwarded_instances_total", "Instances stored by a PACS.", ["destination"]
)
PACS_BYTES = Counter(
    "relaypacs_pacs_forwarded_bytes_total", "Bytes sent to a PACS.", ["destination"]
)
PACS_FAILURES = Counter(
    "relaypacs_pacs_failures_total",
    "Forwarding failures, by destination and reason.",
    ["destination", "reason"],
)
PACS_VERIFICATIONS = Counter(
    "relaypacs_pacs_verifications_total",
    "Deliveries verified with QIDO-RS, by destination and how: `count` (the study's "
    "instance count matched) or `instances` (every SOP Instance UID looked up).",
    ["destination", "how"],
)
PACS_LATENCY = Histogram(
    "relaypacs_pacs_forward_seconds",
    "Time to send one batch to a PACS.",
    ["destination"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)
PACS_DEAD_LETTERS = Gauge(
    "relaypacs_pacs_dead_letters",
    "Forward jobs in the dead letter (given up, not retried), by destination.",
    ["destination"],
)
SCHEDULED_JOB_RUNS = Counter(
    "relaypacs_scheduled_job_runs",
    "Scheduled job runs in this process, by job and outcome (success, failure, skipped: "
    "another process held the job's lease).",
    ["job", "outcome"],
)
SCHEDULED_JOB_LAST_SUCCESS = Gauge(
    "relaypacs_scheduled_job_last_success_timestamp_seconds",
    "When the job last succeeded in any process (from the database; 0: never).",
    ["job"],
)
SCHEDULED_JOB_INTERVAL = Gauge(
    "relaypacs_scheduled_job_interval_seconds",
    "How often the job is scheduled to run (cron: the gap between its next two runs).",
    ["job"],
)
BACKUP_LAST_SUCCESS = Gauge(
    "relaypacs_backup_last_success_timestamp_seconds",
    "Unix time the newest complete backup finished (by the schedule or the CLI; 0: none seen).",
)


FORWARD_OUTCOMES = ("delivered", "retry", "dead", "superseded")
COMPLETION_OUTCOMES = ("queued", "invalid_dicom", "incomplete", "duplicate", "study_uid_conflict")
END_OUTCOMES = ("forwarded", "failed", "cancelled", "expired")


def _initialise_upload_series() -> None:
    # A labelled series appears at its first increment, and `increase()` cannot see a
    # series' first step: a process's first failed upload would be missed by the alerts.
    for level in ServiceLevel:
        UPLOADS_STARTED.labels(level.value)
        for outcome in COMPLETION_OUTCOMES:
            UPLOADS_COMPLETED.labels(outcome, level.value)
        for outcome in END_OUTCOMES:
            UPLOADS_FINISHED.labels(outcome, level.value)


def initialise_destinations(destinations: Iterable[str]) -> None:
    """Create every destination's forwarding series at 0 (see `_initialise_upload_series`)."""
    for name in destinations:
        for outcome in FORWARD_OUTCOMES:
            FORWARD_JOBS.labels(name, outcome)
        PACS_DEAD_LETTERS.labels(name)


_initialise_upload_series()
