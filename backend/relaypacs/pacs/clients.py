"""The one DICOMweb client factory: the forwarder and the report sync both use it."""

from __future__ import annotations

from collections.abc import Iterable

from relaypacs.pacs.config import PacsSettings, PacsType
from relaypacs.pacs.dicomweb import DicomWeb


def dicomweb_clients(settings: PacsSettings) -> dict[str, DicomWeb]:
    """A client for every configured DICOMweb destination (DIMSE ones have none)."""
    return {
        name: DicomWeb(name, dest)
        for name, dest in settings.destinations.items()
        if dest.type is PacsType.dicomweb and dest.configured
    }


async def close_all(clients: Iterable[DicomWeb]) -> None:
    for client in clients:
        await client.close()
