"""Facilities: the managed list of sites a user may belong to."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from relaypacs.audit import service as audit
from relaypacs.facilities.errors import FacilityNameTaken, FacilityNotFound, UnknownFacility
from relaypacs.facilities.models import Facility
from relaypacs.facilities.schemas import FacilityCreate, FacilityUpdate


async def list(session: AsyncSession, *, active_only: bool) -> Sequence[Facility]:
    query = select(Facility).order_by(func.lower(Facility.name), Facility.id)
    if active_only:
        query = query.where(Facility.is_active.is_(True))
    return (await session.scalars(query)).all()


async def get_or_raise(session: AsyncSession, *, facility_id: uuid.UUID) -> Facility:
    facility = await session.get(Facility, facility_id)
    if facility is None:
        raise FacilityNotFound()
    return facility


async def get_open_or_raise(session: AsyncSession, *, facility_id: uuid.UUID) -> Facility:
    """A facility new members may join (exists and is active); 422 otherwise."""
    facility = await session.get(Facility, facility_id)
    if facility is None or not facility.is_active:
        raise UnknownFacility()
    return facility


async def _name_taken(session: AsyncSession, name: str, *, other_than: uuid.UUID | None) -> bool:
    query = select(Facility.id).where(func.lower(Facility.name) == name.lower())
    if other_than is not None:
        query = query.where(Facility.id != other_than)
    return await session.scalar(query) is not None


async def create(
    session: AsyncSession, *, data: FacilityCreate, actor_id: uuid.UUID, ip: str | None
) -> Facility:
    if await _name_taken(session, data.name, other_than=None):
        raise FacilityNameTaken()
    facility = Facility(id=uuid.uuid4(), name=data.name)
    session.add(facility)
    try:
        await session.flush()
    except IntegrityError:  # a concurrent create with the same name won
        await session.rollback()
        raise FacilityNameTaken() from None
    audit.record(
        session,
        action="facility_created",
        actor_id=actor_id,
        target_type="facility",
        target_id=facility.id,
        ip=ip,
        details={"name": facility.name},
    )
    await session.commit()
    return facility


async def update(
    session: AsyncSession,
    *,
    facility: Facility,
    changes: FacilityUpdate,
    actor_id: uuid.UUID,
    ip: str | None,
) -> Facility:
    """Rename or (de)activate; a deactivated facility takes no new members."""
    details: dict[str, object] = {}
    if changes.name is not None and changes.name != facility.name:
        if await _name_taken(session, changes.name, other_than=facility.id):
            raise FacilityNameTaken()
        details["from"], details["to"] = facility.name, changes.name
        facility.name = changes.name
    if changes.is_active is not None and changes.is_active != facility.is_active:
        details["is_active"] = changes.is_active
        facility.is_active = changes.is_active
    if details:
        audit.record(
            session,
            action="facility_updated",
            actor_id=actor_id,
            target_type="facility",
            target_id=facility.id,
            ip=ip,
            details=details,
        )
        await session.commit()
        await session.refresh(facility)
    return facility


async def get_or_create_by_name(session: AsyncSession, *, name: str) -> Facility:
    """For the CLI's first admin: the facility of that name, created when missing."""
    found = await session.scalar(select(Facility).where(func.lower(Facility.name) == name.lower()))
    if found is not None:
        return found
    facility = Facility(id=uuid.uuid4(), name=name)
    session.add(facility)
    await session.flush()
    return facility
