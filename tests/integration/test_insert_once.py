"""insert_unless_exists and insert_values_unless_exists: one statement that inserts once
per unique key, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from service.db.insert_once import insert_unless_exists, insert_values_unless_exists
from service.db.models import InboundMessage

AT = datetime(2027, 3, 1, 13, 0, tzinfo=UTC)


def _message(sid: str, body: str) -> InboundMessage:
    return InboundMessage(message_sid=sid, from_phone="+56911112222", body=body, received_at=AT)


async def test_inserts_once_per_key_and_the_transaction_goes_on(db: None) -> None:
    async with in_transaction():
        first = _message("SM1", "uno")
        assert await insert_unless_exists(first, "message_sid")
        assert first.id is not None
        again = _message("SM1", "otra vez")
        assert not await insert_unless_exists(again, "message_sid")
        assert await insert_unless_exists(_message("SM2", "dos"), "message_sid")
    stored = await InboundMessage.all().order_by("id")
    assert [(m.message_sid, m.body) for m in stored] == [("SM1", "uno"), ("SM2", "dos")]
    assert stored[0].id == first.id
    first.handling = "unplaced"  # the instance counts as saved: this is an UPDATE
    await first.save(update_fields=["handling"])
    assert (await InboundMessage.get(id=first.id)).handling == "unplaced"


async def test_another_constraint_still_raises(db: None) -> None:
    broken = _message("SM3", "tres")
    broken.participant_id = 999_999  # type: ignore[attr-defined]  # no such participant
    with pytest.raises(IntegrityError):
        await insert_unless_exists(broken, "message_sid")
    assert await InboundMessage.all().count() == 0


async def test_from_values_defaults_fill_the_rest_and_the_key_is_kept_once(db: None) -> None:
    new_id = await insert_values_unless_exists(
        InboundMessage,
        "message_sid",
        {"message_sid": "SM4", "from_phone": "+56911112222", "body": "cuatro", "received_at": AT},
    )
    assert new_id is not None
    again = {"message_sid": "SM4", "from_phone": "+56911112222", "body": "x", "received_at": AT}
    assert await insert_values_unless_exists(InboundMessage, "message_sid", again) is None
    row = await InboundMessage.get(id=new_id)
    assert (row.body, row.handling, row.channel, row.attempts, row.late) == (
        "cuatro",
        "pending",
        "sms",
        0,
        False,
    )
    assert row.received_at == AT and row.to_phone is None


async def test_from_values_a_required_field_must_be_given(db: None) -> None:
    with pytest.raises(TypeError, match=r"InboundMessage\.body"):
        await insert_values_unless_exists(
            InboundMessage, "message_sid", {"message_sid": "SM5", "from_phone": "+569"}
        )
    assert await InboundMessage.all().count() == 0
