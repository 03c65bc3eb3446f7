"""Prometheus metrics shared across the app (the default registry, one per process)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

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
    "Upload chunks received, by outcome (stored, duplicate, checksum_mismatch).",
    ["outcome"],
)
UPLOAD_BYTES = Counter("relaypacs_upload_bytes_total", "Upload bytes durably stored.")
UPLOADS_COMPLETED = Counter(
    "relaypacs_uploads_completed_total",
    "Upload completions, by outcome (queued, invalid_dicom, incomplete, duplicate).",
    ["outcome"],
)
