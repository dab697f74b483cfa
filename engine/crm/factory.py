"""Open the configured CRM. A reader is a view with no write methods, so read-only callers cannot write."""

from __future__ import annotations

from typing import Any, AsyncIterator, Sequence

from engine.crm.base import CRMReader, CRMWriter
from engine.models import Deal, DealRef, FieldSpec, Note
from engine.settings import Settings


class ReadOnlyCRM:
    """Exposes exactly the CRMReader protocol of whatever adapter it wraps."""

    def __init__(self, inner: Any):
        self._inner = inner

    @property
    def pages_in_flight(self) -> int:
        return int(self._inner.pages_in_flight)

    async def count_deals(self) -> int:
        return await self._inner.count_deals()

    def iter_deal_refs(self) -> AsyncIterator[DealRef]:
        return self._inner.iter_deal_refs()

    async def get_deal(self, deal_id: str) -> Deal:
        return await self._inner.get_deal(deal_id)

    async def find_deals(self, name: str, limit: int = 5) -> list[Deal]:
        return await self._inner.find_deals(name, limit)

    async def list_notes(self, deal_id: str) -> list[Note]:
        return await self._inner.list_notes(deal_id)

    async def get_deals(self, deal_ids: Sequence[str]) -> dict[str, Deal]:
        return await self._inner.get_deals(deal_ids)

    async def list_notes_many(self, deal_ids: Sequence[str]) -> dict[str, list[Note]]:
        return await self._inner.list_notes_many(deal_ids)

    async def field_specs(self) -> dict[str, FieldSpec]:
        return await self._inner.field_specs()

    async def first_filled(self, fields: Sequence[str]) -> tuple[str, str] | None:
        return await self._inner.first_filled(fields)

    async def aclose(self) -> None:
        await self._inner.aclose()


async def _open_adapter(settings: Settings, writable: bool) -> Any:
    if settings.crm == "local":
        from engine.crm.local import LocalCRM

        return await LocalCRM.open(settings.workspace, writable=writable, deal_url_template=settings.deal_url_template)
    if settings.crm == "attio":
        from engine.crm.attio import AttioCRM

        return AttioCRM.from_settings(settings)
    if settings.crm == "salesforce":
        from engine.crm.salesforce import SalesforceCRM

        return SalesforceCRM.from_settings(settings)
    from engine.crm.hubspot import HubSpotCRM

    return HubSpotCRM.from_settings(settings)


async def open_reader(settings: Settings) -> CRMReader:
    return ReadOnlyCRM(await _open_adapter(settings, writable=False))


async def open_writer(settings: Settings) -> CRMWriter:
    """Only the gate's live path and explicit setup/undo/promote with both locks open call this."""
    return await _open_adapter(settings, writable=True)
