"""Small helpers shared by the integration tests."""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from service.actions.access import add_staff_user
from service.db.models import AuditEntry, Participant

Client = AsyncTestClient[Litestar]


async def staff_headers(
    client: Client, email: str, role: str, sites: list[str] | None = None
) -> dict[str, str]:
    rt = client.app.state.runtime
    await add_staff_user(rt, email, role, sites or [], "correct-horse-battery")
    response = await client.post(
        "/api/v1/auth/token", json={"email": email, "password": "correct-horse-battery"}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def enrollment(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "study_id": "MSC-001",
        "site": "CUA",
        "phone": "+56 9 6123 4567",
        "can_become_pregnant": True,
        "baseline_infusion_date": "2027-01-20",
        "sms_consent": True,
    }
    body.update(overrides)
    return body


async def database_snapshot() -> tuple[int, int]:
    """Row counts that a refused request must leave unchanged."""
    return (await Participant.all().count(), await AuditEntry.all().count())
