"""The embedded SQLite CRM in the contract suite: a real workspace file in tmp_path, no stand-in needed."""

from __future__ import annotations

from pathlib import Path

from engine.crm.local import LocalCRM
from engine.models import WorkspaceData
from tests.standins.contract import ContractEnv

_NO_NETWORK = "the embedded SQLite CRM makes no HTTP calls: there is no 429, 5xx or token to fault"


async def build_contract_env(tmp_path: Path) -> ContractEnv:
    crm = await LocalCRM.open(tmp_path / "workspace.sqlite", writable=True, create=True)

    async def seed(data: WorkspaceData) -> dict[str, str]:
        await crm.load(data)
        return {deal.id: deal.id for deal in data.deals}

    return ContractEnv(
        crm=crm,
        seed=seed,
        delete_deal=crm.delete_deal,
        unsupported={"fail_next": _NO_NETWORK, "reject_token": _NO_NETWORK, "refusals": _NO_NETWORK},
    )
