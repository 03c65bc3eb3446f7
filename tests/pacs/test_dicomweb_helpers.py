"""The QIDO-RS / WADO-RS helpers other domains use (e.g. the reports sync), on Orthanc."""

from __future__ import annotations

from pathlib import Path

import httpx
import pydicom
import pytest
from pydicom.data import get_testdata_file

from relaypacs.pacs.config import DestinationSettings
from relaypacs.pacs.dicomweb import DicomWeb
from tests.servers import OrthancServer


@pytest.fixture
def pacs(orthanc: OrthancServer) -> OrthancServer:
    if not orthanc.running:
        orthanc.start()
    orthanc.clear()
    return orthanc


async def test_search_studies_and_study_metadata(pacs: OrthancServer) -> None:
    path = Path(get_testdata_file("CT_small.dcm"))
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    boundary = "b0undary"
    body = (
        f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode()
        + path.read_bytes()
        + f"\r\n--{boundary}--\r\n".encode()
    )
    async with httpx.AsyncClient() as http:
        stored = await http.post(
            f"{pacs.dicomweb_url}/studies",
            content=body,
            auth=(pacs.username, pacs.password),
            headers={
                "Content-Type": f'multipart/related; type="application/dicom"; boundary={boundary}',
                "Accept": "application/dicom+json",
            },
            timeout=30,
        )
    assert stored.status_code == 200, stored.text
    client = DicomWeb(
        "orthanc",
        DestinationSettings(
            url=pacs.dicomweb_url, auth="basic", username=pacs.username, password=pacs.password
        ),
    )
    try:
        found = await client.search_studies(StudyInstanceUID=str(ds.StudyInstanceUID))
        assert [s["0020000D"]["Value"][0] for s in found] == [str(ds.StudyInstanceUID)]
        assert await client.search_studies(StudyInstanceUID="1.2.3.4.5.6.7") == []
        metadata = await client.study_metadata(str(ds.StudyInstanceUID))
        assert metadata[0]["00080018"]["Value"] == [str(ds.SOPInstanceUID)]
        assert await client.study_instance_uids(str(ds.StudyInstanceUID)) == {
            str(ds.SOPInstanceUID)
        }
        assert await client.study_instance_uids("1.2.3.4.5.6.7") == set()
    finally:
        await client.close()
