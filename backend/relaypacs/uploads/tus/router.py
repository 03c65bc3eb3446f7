"""The tus 1.0.0 endpoint (`/api/tus/`), beside our own chunk protocol: HTTP only.

Kept out of the OpenAPI document: tus is a header protocol (every request and answer is
in Tus-*/Upload-* headers, bodies are raw bytes) that OpenAPI cannot describe usefully, and
the clients that speak it (tuspy, tus-js-client, Uppy) never read a schema; docs/tus.md
describes it. The routes are still in the RBAC matrix (tests/auth/test_rbac_matrix.py).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from relaypacs.core.dependencies import SessionDep, SettingsDep
from relaypacs.core.limits import declared_length
from relaypacs.uploads.dependencies import BearerDep, StorageDep, UploadTokenHeader
from relaypacs.uploads.tus import creation, service
from relaypacs.uploads.tus.dependencies import TusFile, TusPartial, tus_resumable
from relaypacs.uploads.tus.protocol import options_headers

# Authenticated like the chunk routes: the owner's access token OR the upload's token.
router = APIRouter(include_in_schema=False, dependencies=[Depends(tus_resumable)])

FILE = "/{upload_id}/{file_index}"
PARTIAL = "/{upload_id}/{file_index}/partials/{partial_id}"


@router.options("/", status_code=204, response_class=Response)
async def tus_options(settings: SettingsDep) -> Response:
    return Response(status_code=204, headers=options_headers(settings.upload_max_total_bytes))


@router.post("/", status_code=201, response_class=Response)
async def tus_create(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    storage: StorageDep,
    credentials: BearerDep,
    x_upload_token: UploadTokenHeader = None,
) -> Response:
    headers = request.headers
    created = await creation.create(
        session,
        settings=settings,
        storage=storage,
        request=creation.CreationRequest(
            upload_length=headers.get("upload-length"),
            upload_defer_length=headers.get("upload-defer-length"),
            upload_metadata=headers.get("upload-metadata"),
            upload_concat=headers.get("upload-concat"),
            content_type=headers.get("content-type"),
            content_length=declared_length(request.scope),
            credentials=credentials,
            upload_token=x_upload_token,
            root_path=request.scope.get("root_path", ""),
        ),
        body=request.stream(),
    )
    return Response(status_code=201, headers={"Location": created.location, **created.headers})


@router.head(FILE, status_code=200, response_class=Response)
async def tus_head_file(resource: TusFile, session: SessionDep, storage: StorageDep) -> Response:
    headers = await service.head(session, storage=storage, resource=resource)
    return Response(status_code=200, headers=headers)


@router.patch(FILE, status_code=204, response_class=Response)
async def tus_patch_file(
    request: Request, resource: TusFile, session: SessionDep, storage: StorageDep
) -> Response:
    return await _patch(request, resource, session, storage)


@router.delete(FILE, status_code=204, response_class=Response)
async def tus_delete_file(resource: TusFile, session: SessionDep, storage: StorageDep) -> Response:
    await service.terminate(session, storage=storage, resource=resource)
    return Response(status_code=204)


@router.head(PARTIAL, status_code=200, response_class=Response)
async def tus_head_partial(
    resource: TusPartial, session: SessionDep, storage: StorageDep
) -> Response:
    headers = await service.head(session, storage=storage, resource=resource)
    return Response(status_code=200, headers=headers)


@router.patch(PARTIAL, status_code=204, response_class=Response)
async def tus_patch_partial(
    request: Request, resource: TusPartial, session: SessionDep, storage: StorageDep
) -> Response:
    return await _patch(request, resource, session, storage)


@router.delete(PARTIAL, status_code=204, response_class=Response)
async def tus_delete_partial(
    resource: TusPartial, session: SessionDep, storage: StorageDep
) -> Response:
    await service.terminate(session, storage=storage, resource=resource)
    return Response(status_code=204)


async def _patch(
    request: Request, resource: service.Resource, session: SessionDep, storage: StorageDep
) -> Response:
    headers = await service.patch(
        session,
        storage=storage,
        resource=resource,
        upload_offset=request.headers.get("upload-offset"),
        content_type=request.headers.get("content-type"),
        upload_checksum=request.headers.get("upload-checksum"),
        content_length=declared_length(request.scope),
        body=request.stream(),
    )
    return Response(status_code=204, headers=headers)


# Bodies may be as long as a file (each PATCH is held to its upload's remaining length in
# uploads/tus/transfer.py); the request body limit (core/limits.py) takes these as large.
LARGE_BODY_ENDPOINTS = (tus_create, tus_patch_file, tus_patch_partial)
