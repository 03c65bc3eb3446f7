"""PACS destinations and forwarding settings: the pacs domain's group of the one root
`Settings` (relaypacs/settings.py). Variables: ACTIVE_PACS, FALLBACK_PACS, FORWARD_*,
FALLBACK_AFTER_SECONDS and PACS_<NAME>__<FIELD> (e.g. PACS_ORTHANC__URL)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Self

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator

from relaypacs.core.config import CoreSettings


class PacsType(StrEnum):
    dicomweb = "dicomweb"
    dimse = "dimse"


class PacsAuth(StrEnum):
    none = "none"
    basic = "basic"
    bearer = "bearer"
    oidc = "oidc"


class ActivePacs(StrEnum):
    orthanc = "orthanc"
    dcm4chee = "dcm4chee"
    both = "both"


class DestinationSettings(BaseModel):
    """One PACS destination; env vars are PACS_<NAME>__<FIELD>, e.g. PACS_ORTHANC__URL."""

    type: PacsType = PacsType.dicomweb
    url: str = ""
    auth: PacsAuth = PacsAuth.none
    username: str = ""
    password: SecretStr = SecretStr("")
    token: SecretStr = SecretStr("")
    oidc_token_url: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: SecretStr = SecretStr("")
    verify_tls: bool = True
    ca_bundle: str = ""
    timeout_seconds: Annotated[float, Field(gt=0, le=3600)] = 120.0
    batch_max_instances: Annotated[int, Field(ge=1, le=10_000)] = 50
    batch_max_bytes: Annotated[int, Field(ge=1024)] = 64 * 1024 * 1024
    # STOW-RS requests of one job at once (DICOMweb; DIMSE sends one batch at a time).
    stow_in_flight: Annotated[int, Field(ge=1, le=8)] = 2
    host: str = ""
    port: Annotated[int, Field(ge=1, le=65535)] = 104
    called_aet: str = ""
    calling_aet: str = "RELAYPACS"

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _check(self) -> DestinationSettings:
        if self.auth is PacsAuth.oidc and not (self.oidc_token_url and self.oidc_client_id):
            raise ValueError("AUTH=oidc needs OIDC_TOKEN_URL and OIDC_CLIENT_ID")
        for aet in (self.called_aet, self.calling_aet):
            if len(aet) > 16:
                raise ValueError("AE titles are at most 16 characters")
        return self

    @property
    def configured(self) -> bool:
        return bool(self.url) if self.type is PacsType.dicomweb else bool(self.host)


class OrthancDestination(DestinationSettings):
    """Defaults match the sandbox Orthanc that `make run` starts."""

    url: str = "http://127.0.0.1:8042/dicom-web"
    auth: PacsAuth = PacsAuth.basic
    username: str = "orthanc"
    password: SecretStr = SecretStr("orthanc")
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 4242
    called_aet: str = "ORTHANC"


class Dcm4cheeDestination(DestinationSettings):
    url: str = "http://127.0.0.1:8080/dcm4chee-arc/aets/DCM4CHEE/rs"
    batch_max_instances: Annotated[int, Field(ge=1, le=10_000)] = 100
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 11112
    called_aet: str = "DCM4CHEE"


class PacsSettings(CoreSettings):
    """Where studies go and how hard the forwarder tries."""

    active_pacs: ActivePacs = ActivePacs.orthanc
    fallback_pacs: str = ""
    pacs_orthanc: OrthancDestination = OrthancDestination()
    pacs_dcm4chee: Dcm4cheeDestination = Dcm4cheeDestination()
    forward_workers: Annotated[int, Field(ge=0, le=64)] = 2
    forward_poll_seconds: Annotated[float, Field(gt=0, le=300)] = 2.0
    forward_lease_seconds: Annotated[float, Field(ge=2, le=3600)] = 60.0
    forward_max_attempts: Annotated[int, Field(ge=1, le=1000)] = 12
    forward_max_age_hours: Annotated[float, Field(gt=0)] = 72.0
    forward_backoff_base_seconds: Annotated[float, Field(gt=0)] = 5.0
    forward_backoff_max_seconds: Annotated[float, Field(gt=0)] = 900.0
    fallback_after_seconds: Annotated[float, Field(ge=0)] = 900.0
    forward_verify: bool = True
    # A forwarding process probes the watched destinations this often, sending or not
    # (0: only before sending), so relaypacs_pacs_up stays current.
    pacs_health_probe_seconds: Annotated[float, Field(ge=0, le=3600)] = 30.0

    @model_validator(mode="after")
    def _check_pacs(self) -> Self:
        names = set(self.destinations)
        if self.fallback_pacs and self.fallback_pacs not in names:
            raise ValueError(f"FALLBACK_PACS: expected one of {', '.join(sorted(names))} or empty")
        if self.fallback_pacs and self.fallback_pacs in self.active_destinations:
            raise ValueError("FALLBACK_PACS: must not be one of the ACTIVE_PACS destinations")
        return self

    @property
    def destinations(self) -> dict[str, DestinationSettings]:
        return {"orthanc": self.pacs_orthanc, "dcm4chee": self.pacs_dcm4chee}

    @property
    def watched_destinations(self) -> list[str]:
        """The configured destinations in use: the active ones and the fallback."""
        used = [*self.active_destinations, *([self.fallback_pacs] if self.fallback_pacs else [])]
        return [n for n in used if self.destinations[n].configured]

    @property
    def active_destinations(self) -> list[str]:
        if self.active_pacs is ActivePacs.both:
            return ["orthanc", "dcm4chee"]
        return [self.active_pacs.value]
