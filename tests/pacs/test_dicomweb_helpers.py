"""The QIDO-RS / WADO-RS helpers other domains use (e.g. the reports sync), on Orthanc."""

from __future__ import annotations

import io

import httpx
import pydicom
import pytest
from pydicom.uid import generate_uid

from relaypacs.pacs.config import DestinationSettings
from relaypacs.pacs.dicomweb import DicomWeb, UnsafeIdentifier, resource_path
from tests.dicom_factory import ct_instance, pydicom_file
from tests.servers import OrthancServer


@pytest.fixture
def pacs(orthanc: OrthancServer) -> OrthancServer:
    if not orthanc.running:
        orthanc.start()
    orthanc.clear()
    return orthanc


async def test_search_studies_and_study_metadata(pacs: OrthancServer) -> None:
    path = pydicom_file("CT_small.dcm")
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
        assert await client.study_instance_count(str(ds.StudyInstanceUID)) == 1
        assert await client.study_instance_count("1.2.3.4.5.6.7") == 0
    finally:
        await client.close()


async def test_study_patient_ids_names_every_patient_a_study_uid_is_held_under(
    pacs: OrthancServer,
) -> None:
    """Orthanc keeps one study per (PatientID, StudyInstanceUID): a second patient's image
    with the same StudyInstanceUID is a second study, and QIDO-RS lists both."""
    study_uid, other_study = generate_uid(), generate_uid()
    for patient_id, uid in (("PID-A", study_uid), ("PID-B", study_uid), ("PID-C", other_study)):
        ds = ct_instance(
            study_uid=uid,
            series_uid=generate_uid(),
            number=1,
            pixel_bytes=1024,
            patient_id=patient_id,
        )
        buffer = io.BytesIO()
        ds.save_as(buffer, enforce_file_format=True)
        assert pacs.request("POST", "/instances", buffer.getvalue())["Status"] == "Success"
    client = DicomWeb(
        "orthanc",
        DestinationSettings(
            url=pacs.dicomweb_url, auth="basic", username=pacs.username, password=pacs.password
        ),
    )
    try:
        assert await client.study_patient_ids(study_uid) == {"PID-A", "PID-B"}
        assert await client.study_instance_count(study_uid) == 2  # both patients' rows
        assert await client.study_patient_ids(generate_uid()) == set()
    finally:
        await client.close()


UNSAFE = ["../../tools/shutdown", "1.2.3?limit=1", "1.2.3#x", "1.2.3/../4", "", "1.02.3"]


@pytest.mark.parametrize("uid", UNSAFE)
def test_a_non_uid_identifier_never_becomes_a_dicomweb_path(uid: str) -> None:
    with pytest.raises(UnsafeIdentifier):
        resource_path(uid)
    with pytest.raises(UnsafeIdentifier):
        resource_path("1.2.3", uid, suffix="/instances")
    with pytest.raises(UnsafeIdentifier):
        resource_path("1.2.3", "1.2.4", uid)


def test_dicomweb_paths_are_built_from_checked_segments() -> None:
    assert resource_path("1.2.3") == "/studies/1.2.3"
    assert resource_path("1.2.3", suffix="/metadata") == "/studies/1.2.3/metadata"
    assert resource_path("1.2.3", "4.5", "6.7") == "/studies/1.2.3/series/4.5/instances/6.7"
    with pytest.raises(ValueError, match="suffix"):
        resource_path("1.2.3", suffix="/../tools")


async def test_no_request_leaves_the_gateway_for_a_traversal_uid() -> None:
    sent: list[str] = []

    def record(request: httpx.Request) -> httpx.Response:
        sent.append(request.url.raw_path.decode())
        return httpx.Response(200, json=[])

    client = DicomWeb("orthanc", DestinationSettings(url="http://pacs.test/dicom-web"))
    client.client = httpx.AsyncClient(
        base_url="http://pacs.test/dicom-web", transport=httpx.MockTransport(record)
    )
    try:
        evil = "../../tools/shutdown"
        calls = [
            client.store(evil, []),
            client.study_instance_uids(evil),
            client.study_metadata(evil),
            client.search_series(evil),
            client.search_instances("1.2.3", evil),
            client.retrieve_instance("1.2.3", "1.2.4", evil),
            client.study_patient_ids("1.2.3&PatientID=*"),
        ]
        for call in calls:
            with pytest.raises(UnsafeIdentifier):
                await call
        assert sent == []
        await client.search_series("1.2.3")
        assert sent == ["/dicom-web/studies/1.2.3/series"]
    finally:
        await client.close()
