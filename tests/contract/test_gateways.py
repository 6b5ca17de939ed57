"""One contract for every SmsGateway, and the Twilio adapter against a real HTTP server.

The same tests run on the console gateway and on the official twilio SDK talking to
our local Twilio-compatible server; then the Twilio-only behaviour (form fields, auth,
error mapping, base URL, lost responses) is pinned against the same server.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from service.adapters.console_sms import ConsoleSmsGateway
from service.adapters.twilio_errors import CODES, explain_twilio_error
from service.adapters.twilio_sms import TwilioSmsGateway
from service.ports import ProviderReceipt, SmsFailure, SmsGateway, SmsSendError
from tests.support.fakes import (
    TEST_ACCOUNT_SID,
    TEST_AUTH_TOKEN,
    TEST_FROM_NUMBER,
    TEST_MESSAGING_SERVICE_SID,
    TwilioFakeServer,
)

PHONE = "+56987654321"
OTHER_PHONE = "+56912345678"
BODY = "Recordatorio: mañana tiene su control en Clínica Universidad de los Andes."
CALLBACK = "http://127.0.0.1:8000/webhooks/twilio/status"


def _now() -> datetime:
    return datetime.now(UTC) - timedelta(seconds=1)


@pytest.fixture(scope="module")
def twilio_server() -> Iterator[TwilioFakeServer]:
    with TwilioFakeServer() as server:
        yield server


@pytest.fixture
def twilio(twilio_server: TwilioFakeServer) -> TwilioFakeServer:
    """The module's server, emptied and unprogrammed for each test."""
    twilio_server.reset()
    return twilio_server


def _twilio_gateway(
    server: TwilioFakeServer,
    *,
    messaging_service_sid: str | None = TEST_MESSAGING_SERVICE_SID,
    from_number: str | None = None,
    api_base_url: str | None = None,
    timeout_s: float = 2,
) -> TwilioSmsGateway:
    return TwilioSmsGateway(
        TEST_ACCOUNT_SID,
        TEST_AUTH_TOKEN,
        messaging_service_sid=messaging_service_sid,
        from_number=from_number,
        api_base_url=api_base_url or server.base_url,
        timeout_s=timeout_s,
    )


@pytest.fixture
async def tw(twilio: TwilioFakeServer) -> AsyncIterator[TwilioSmsGateway]:
    gateway = _twilio_gateway(twilio)
    yield gateway
    await gateway.aclose()


@pytest.fixture(params=["console", "twilio"])
async def sms_gateway(
    request: pytest.FixtureRequest, twilio: TwilioFakeServer
) -> AsyncIterator[SmsGateway]:
    gateway: SmsGateway = (
        ConsoleSmsGateway() if request.param == "console" else _twilio_gateway(twilio)
    )
    yield gateway
    await gateway.aclose()


# ---- the contract, for every gateway ---------------------------------------------------


async def test_is_an_sms_gateway(sms_gateway: SmsGateway) -> None:
    assert isinstance(sms_gateway, SmsGateway)
    assert sms_gateway.name in {"console", "twilio"}


async def test_send_returns_a_receipt(sms_gateway: SmsGateway) -> None:
    receipt = await sms_gateway.send(PHONE, BODY, status_callback=CALLBACK, validity_period_s=600)

    assert isinstance(receipt, ProviderReceipt)
    assert receipt.provider_id
    assert receipt.status in {"queued", "accepted", "delivered"}
    assert receipt.error_code is None
    assert receipt.sent_at is not None and receipt.sent_at.tzinfo is not None


async def test_find_sent_finds_the_message(sms_gateway: SmsGateway) -> None:
    since = _now()
    receipt = await sms_gateway.send(PHONE, BODY)

    found = await sms_gateway.find_sent(PHONE, BODY, since)

    assert found is not None
    assert found.provider_id == receipt.provider_id


async def test_find_sent_returns_the_newest_identical_message(sms_gateway: SmsGateway) -> None:
    since = _now()
    await sms_gateway.send(PHONE, BODY)
    second = await sms_gateway.send(PHONE, BODY)

    found = await sms_gateway.find_sent(PHONE, BODY, since)

    assert found is not None and found.provider_id == second.provider_id


async def test_find_sent_misses_other_numbers_bodies_and_older_messages(
    sms_gateway: SmsGateway,
) -> None:
    since = _now()
    await sms_gateway.send(PHONE, BODY)

    assert await sms_gateway.find_sent(OTHER_PHONE, BODY, since) is None
    assert await sms_gateway.find_sent(PHONE, BODY + "!", since) is None
    assert await sms_gateway.find_sent(PHONE, BODY, since + timedelta(hours=1)) is None


async def test_invalid_number_is_a_permanent_21211(sms_gateway: SmsGateway) -> None:
    with pytest.raises(SmsSendError) as refused:
        await sms_gateway.send("+56 9 123", BODY)

    assert refused.value.permanent is True
    assert refused.value.code == 21211


async def test_aclose_is_safe_before_use_and_twice(sms_gateway: SmsGateway) -> None:
    await sms_gateway.aclose()
    await sms_gateway.aclose()


# ---- Twilio: what goes over the wire --------------------------------------------------


async def test_twilio_posts_the_form_fields_with_a_messaging_service(
    tw: TwilioSmsGateway, twilio: TwilioFakeServer
) -> None:
    receipt = await tw.send(PHONE, BODY, status_callback=CALLBACK, validity_period_s=3600)

    (message,) = twilio.messages
    assert message.sid == receipt.provider_id
    assert receipt.status == "accepted"  # what Twilio answers when a service picks the sender
    assert message.form == {
        "To": PHONE,
        "Body": BODY,
        "MessagingServiceSid": TEST_MESSAGING_SERVICE_SID,
        "StatusCallback": CALLBACK,
        "ValidityPeriod": "3600",
    }


async def test_twilio_posts_from_and_omits_unset_options(twilio: TwilioFakeServer) -> None:
    gateway = _twilio_gateway(twilio, messaging_service_sid=None, from_number=TEST_FROM_NUMBER)
    try:
        receipt = await gateway.send(PHONE, BODY)
    finally:
        await gateway.aclose()

    assert receipt.status == "queued"
    assert twilio.messages[0].form == {"To": PHONE, "Body": BODY, "From": TEST_FROM_NUMBER}


async def test_twilio_authenticates_with_account_sid_and_auth_token(
    tw: TwilioSmsGateway, twilio: TwilioFakeServer
) -> None:
    await tw.send(PHONE, BODY)

    (request,) = twilio.requests
    assert request.auth == (TEST_ACCOUNT_SID, TEST_AUTH_TOKEN)
    assert request.path == f"/2010-04-01/Accounts/{TEST_ACCOUNT_SID}/Messages.json"


async def test_twilio_wrong_token_is_a_transient_401(twilio: TwilioFakeServer) -> None:
    gateway = TwilioSmsGateway(
        TEST_ACCOUNT_SID, "wrong", from_number=TEST_FROM_NUMBER, api_base_url=twilio.base_url
    )
    try:
        with pytest.raises(SmsSendError) as refused:
            await gateway.send(PHONE, BODY)
    finally:
        await gateway.aclose()

    assert (refused.value.http_status, refused.value.code) == (401, 20003)
    assert refused.value.permanent is False  # a credentials fix should let it through
    assert twilio.messages == []


# ---- Twilio: error mapping ------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "expected_code", "permanent"),
    [
        (400, 21211, 21211, True),
        (400, 21610, 21610, True),
        (400, 21614, 21614, True),
        (400, 21612, 21612, True),
        (400, 21408, 21408, True),
        (400, 21603, 21603, False),  # our configuration: retry once it is fixed
        (500, None, 20500, False),
        (503, None, 20503, False),
        (429, None, 20429, False),
        (400, 29999, 29999, False),  # unknown codes: retry, do not drop
    ],
)
async def test_twilio_errors_map_to_sms_send_error(
    tw: TwilioSmsGateway,
    twilio: TwilioFakeServer,
    status: int,
    code: int | None,
    expected_code: int,
    permanent: bool,
) -> None:
    twilio.fail_next(status=status, code=code)

    with pytest.raises(SmsSendError) as refused:
        await tw.send(PHONE, BODY)

    assert refused.value.http_status == status
    assert refused.value.code == expected_code
    assert refused.value.permanent is permanent
    assert (await tw.send(PHONE, BODY)).provider_id  # only the next one was programmed


async def test_twilio_opted_out_number_fails_every_time(
    tw: TwilioSmsGateway, twilio: TwilioFakeServer
) -> None:
    twilio.fail_number(OTHER_PHONE, 21610)

    for _ in range(2):
        with pytest.raises(SmsSendError) as refused:
            await tw.send(OTHER_PHONE, BODY)
        assert (refused.value.code, refused.value.permanent) == (21610, True)
    assert (await tw.send(PHONE, BODY)).provider_id


async def test_twilio_timeout_is_transient_and_prompt(twilio: TwilioFakeServer) -> None:
    twilio.delay_s = 1.0
    gateway = _twilio_gateway(twilio, timeout_s=0.1)
    started = time.monotonic()
    try:
        with pytest.raises(SmsSendError) as refused:
            await gateway.send(PHONE, BODY)
    finally:
        await gateway.aclose()

    assert refused.value.permanent is False
    assert refused.value.code is None and refused.value.http_status is None
    assert time.monotonic() - started < 0.8


async def test_twilio_connection_refused_is_transient() -> None:
    with TwilioFakeServer() as gone:
        base_url = gone.base_url  # a port that was ours a moment ago, now closed
    gateway = TwilioSmsGateway(
        TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, from_number=TEST_FROM_NUMBER, api_base_url=base_url
    )
    try:
        with pytest.raises(SmsSendError) as refused:
            await gateway.send(PHONE, BODY)
    finally:
        await gateway.aclose()

    assert refused.value.permanent is False


async def test_twilio_error_messages_carry_no_phone_number(
    tw: TwilioSmsGateway, twilio: TwilioFakeServer
) -> None:
    twilio.fail_number(PHONE, 21211)  # Twilio's message for 21211 echoes the number

    with pytest.raises(SmsSendError) as refused:
        await tw.send(PHONE, BODY)

    assert PHONE not in str(refused.value)
    assert "**21" in str(refused.value)


@pytest.mark.parametrize(
    ("code", "permanent"),
    [
        *[(code, True) for code in (21211, 21610, 21614, 21408, 30005)],
        *[(code, False) for code in (20429, 30003, 30008, 20003, None)],
    ],
)
def test_error_classification(code: int | None, permanent: bool) -> None:
    assert explain_twilio_error(code).failure.permanent is permanent


@pytest.mark.parametrize(
    ("code", "failure"),
    [
        (21610, SmsFailure.OPTED_OUT),
        (30004, SmsFailure.BLOCKED_NUMBER),
        *[(code, SmsFailure.INVALID_NUMBER) for code in (21211, 21407, 21612, 21614, 30005, 30006)],
        *[(code, SmsFailure.MESSAGE_REJECTED) for code in (21408, 21608, 30007)],
        (20003, SmsFailure.ACCOUNT),
        *[(code, SmsFailure.TRANSIENT) for code in (30003, 20503, 12345, None)],
    ],
)
def test_error_codes_are_explained_in_neutral_classes(
    code: int | None, failure: SmsFailure
) -> None:
    explained = explain_twilio_error(code)
    assert (explained.code, explained.failure) == (code, failure) and explained.meaning
    assert failure.blocks_number is (failure in {"opted_out", "blocked_number", "invalid_number"})


async def test_every_gateway_explains_with_the_same_table(sms_gateway: SmsGateway) -> None:
    for code in CODES:
        assert sms_gateway.explain_error(code) == explain_twilio_error(code)


# ---- Twilio: TWILIO_API_BASE_URL ------------------------------------------------------


async def test_twilio_base_url_is_honoured_with_a_path_prefix_and_despite_edge_env(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # An egress proxy mounted under /twilio; a TWILIO_EDGE that would rewrite the host.
    monkeypatch.setenv("TWILIO_EDGE", "sydney")
    monkeypatch.setenv("TWILIO_REGION", "au1")
    with TwilioFakeServer(path_prefix="/twilio", settle_status=None) as proxied:
        gateway = _twilio_gateway(proxied, api_base_url=proxied.base_url + "/")
        try:
            since = _now()
            receipt = await gateway.send(PHONE, BODY)
            found = await gateway.find_sent(PHONE, BODY, since)
        finally:
            await gateway.aclose()
        paths = [r.path for r in proxied.requests]

    assert found is not None and found.provider_id == receipt.provider_id
    assert paths and all(
        p.startswith(f"/twilio/2010-04-01/Accounts/{TEST_ACCOUNT_SID}/") for p in paths
    )


@pytest.mark.parametrize("bad", ["api.twilio.com", "ftp://api.twilio.com", ""])
def test_twilio_refuses_a_base_url_that_is_not_http(bad: str) -> None:
    with pytest.raises(ValueError, match="TWILIO_API_BASE_URL"):
        TwilioSmsGateway(
            TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, from_number=TEST_FROM_NUMBER, api_base_url=bad
        )


def test_twilio_needs_a_sender() -> None:
    with pytest.raises(ValueError, match="TWILIO_MESSAGING_SERVICE_SID or TWILIO_FROM_NUMBER"):
        TwilioSmsGateway(TEST_ACCOUNT_SID, TEST_AUTH_TOKEN)


# ---- Twilio: reconciliation -----------------------------------------------------------


async def test_twilio_find_sent_after_a_lost_response(
    tw: TwilioSmsGateway, twilio: TwilioFakeServer
) -> None:
    since = _now()
    twilio.lose_next()

    with pytest.raises(SmsSendError) as lost:
        await tw.send(PHONE, BODY)
    assert lost.value.permanent is False

    (accepted,) = twilio.messages  # Twilio has it, we never heard back
    found = await tw.find_sent(PHONE, BODY, since)
    assert found is not None and found.provider_id == accepted.sid


async def test_twilio_find_sent_sees_a_message_still_queued(
    tw: TwilioSmsGateway, twilio: TwilioFakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A queued message has no date_sent, so Twilio's DateSent filter cannot see it.
    monkeypatch.setattr(twilio, "settle_status", None)
    since = _now()
    receipt = await tw.send(PHONE, BODY)

    found = await tw.find_sent(PHONE, BODY, since)

    assert found is not None and found.provider_id == receipt.provider_id
    assert found.status == "accepted"


async def test_twilio_find_sent_reports_the_current_status(
    tw: TwilioSmsGateway, twilio: TwilioFakeServer
) -> None:
    since = _now()
    receipt = await tw.send(PHONE, BODY)
    twilio.set_status(receipt.provider_id, "undelivered", error_code=30003)

    found = await tw.find_sent(PHONE, BODY, since)

    assert found is not None
    assert (found.status, found.error_code) == ("undelivered", 30003)


# ---- logs -----------------------------------------------------------------------------


async def test_no_phone_number_or_body_in_logs_at_info_or_above(
    sms_gateway: SmsGateway, twilio: TwilioFakeServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    since = _now()
    await sms_gateway.send(PHONE, BODY, status_callback=CALLBACK)
    await sms_gateway.find_sent(PHONE, BODY, since)
    with pytest.raises(SmsSendError):
        await sms_gateway.send("+56 9 123", BODY)

    for record in caplog.records:
        text = record.getMessage()
        assert "987654321" not in text and "8765 4321" not in text, text
        assert BODY not in text


async def test_console_logs_one_masked_line_per_message(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="service.sms.console")
    gateway = ConsoleSmsGateway()

    receipt = await gateway.send(PHONE, BODY)

    (record,) = [r for r in caplog.records if r.name == "service.sms.console"]
    assert record.levelno == logging.INFO
    line = record.getMessage()
    assert "+56 9 **** **21" in line
    assert receipt.provider_id in line
    assert f"{len(BODY)} chars, 2 segment(s)" in line  # "í" makes it UCS-2: 67 per part


async def test_console_remembers_only_the_last_messages() -> None:
    gateway = ConsoleSmsGateway(keep_last=2)
    since = _now()
    first = await gateway.send(PHONE, "uno")
    await gateway.send(PHONE, "dos")
    await gateway.send(PHONE, "tres")

    assert [m.body for m in gateway.sent] == ["dos", "tres"]
    assert first.provider_id.startswith("CONSOLE") and first.status == "delivered"
    assert await gateway.find_sent(PHONE, "uno", since) is None
