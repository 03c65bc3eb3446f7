"""Imports every domain's tables so Alembic and the tests see the whole schema."""

from __future__ import annotations

from relaypacs.audit import models as audit_models
from relaypacs.auth import models as auth_models
from relaypacs.core import jobs as job_models
from relaypacs.core.database import Base
from relaypacs.facilities import models as facility_models
from relaypacs.notifications import models as notification_models
from relaypacs.pacs import models as pacs_models
from relaypacs.reports import models as report_models
from relaypacs.uploads import models as upload_models
from relaypacs.users import models as user_models

__all__ = [
    "Base",
    "audit_models",
    "auth_models",
    "facility_models",
    "job_models",
    "notification_models",
    "pacs_models",
    "report_models",
    "upload_models",
    "user_models",
]
