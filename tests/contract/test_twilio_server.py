"""The fake Twilio is only worth its name if it behaves like Twilio: signatures the SDK's
validator accepts, Twilio's resource and error shapes, its filters and paging."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx
import pytest
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.request_validator import HMAC_SHA256, RequestValidator
from twilio.rest import Client

from service.ports import ManualClock
from tests.support.fakes import (
    TEST_ACCOUNT_SID,
    TEST_AUTH_TOKEN,
    TEST_FROM_NUMBER,
    TEST_MESSAGING_SERVICE_SID,
    TwilioFakeServer,
    inbound_sms,
    sign,
    status_callback,
)
from tests.support.fakes.twilio_server import num_segments

STATUS_URL = "https://followup.example.org/webhooks/twilio/status"
INBOUND_URL = "https://followup.example.org/webhooks/twilio/sms"
PHONE = "+56987654321"
MESSAGES = f"/2010-04-01/Accounts/{TEST_ACCOUNT_SID}/Messages.json"
SID = re.compile(r"^SM[0-9a-f]{32}$")


@pytest.fixture(scope="module")
def server() -> Iterator[TwilioFakeServer]:
    with TwilioFakeServer() as running:
        yield running


@pytest.fixture
def api(server: TwilioFakeServer) -> Iterator[httpx.Client]:
    server.reset()
    with httpx.Client(
        base_url=server.base_url, auth=(TEST_ACCOUNT_SID, TEST_AUTH_TOKEN), timeout=5
    ) as client:
        yield client


# ---- signatures -----------------------------------------------------------------------


def test_signature_is_accepted_by_the_sdk_validator() -> None:
    params = {"MessageSid": "SM" + "a" * 32, "MessageStatus": "delivered", "To": PHONE}

    signature = sign(STATUS_URL, params, TEST_AUTH_TOKEN)

    assert RequestValidator(TEST_AUTH_TOKEN).validate(STATUS_URL, params, signature)


def test_tampered_body_url_or_token_fails_validation() -> None:
    params = {"Body": "SI", "From": PHONE}
    signature = sign(INBOUND_URL, params, TEST_AUTH_TOKEN)
    validator = RequestValidator(TEST_AUTH_TOKEN)

    assert not validator.validate(INBOUND_URL, {**params, "Body": "NO"}, signature)
    assert not validator.validate(INBOUND_URL, {**params, "Extra": "1"}, signature)
    assert not validator.validate(INBOUND_URL + "?x=1", params, signature)
    assert not RequestValidator("another-token").validate(INBOUND_URL, params, signature)


def test_sha256_signatures_are_supported() -> None:
    params = {"Body": "SI"}
    signature = sign(INBOUND_URL, params, TEST_AUTH_TOKEN, algorithm=HMAC_SHA256)

    validator = RequestValidator(TEST_AUTH_TOKEN)
    assert validator.validate(INBOUND_URL, params, signature, algorithm=HMAC_SHA256)
    assert not validator.validate(INBOUND_URL, params, signature)


# ---- webhook builders -----------------------------------------------------------------


def test_status_callback_fields_and_signature() -> None:
    sid = "SM" + "b" * 32
    headers, form = status_callback(
        STATUS_URL,
        message_sid=sid,
        status="delivered",
        to=PHONE,
        messaging_service_sid=TEST_MESSAGING_SERVICE_SID,
    )

    assert form == {
        "SmsSid": sid,
        "SmsStatus": "delivered",
        "MessageStatus": "delivered",
        "To": PHONE,
        "MessageSid": sid,
        "AccountSid": TEST_ACCOUNT_SID,
        "From": TEST_FROM_NUMBER,
        "ApiVersion": "2010-04-01",
        "MessagingServiceSid": TEST_MESSAGING_SERVICE_SID,
    }
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert headers["I-Twilio-Idempotency-Token"]
    validator = RequestValidator(TEST_AUTH_TOKEN)
    assert validator.validate(STATUS_URL, form, headers["X-Twilio-Signature"])


@pytest.mark.parametrize(
    ("status", "given", "sent"), [("undelivered", 30003, "30003"), ("failed", None, "30008")]
)
def test_failed_callbacks_carry_an_error_code(status: str, given: int | None, sent: str) -> None:
    _, form = status_callback(
        STATUS_URL, message_sid="SM" + "c" * 32, status=status, to=PHONE, error_code=given
    )

    assert form["ErrorCode"] == sent


def test_inbound_sms_fields_and_signature() -> None:
    headers, form = inbound_sms(INBOUND_URL, from_=PHONE, body="STOP", opt_out_type="STOP")

    assert set(form) == {
        "ToCountry", "ToState", "SmsMessageSid", "NumMedia", "ToCity", "FromZip", "SmsSid",
        "FromState", "SmsStatus", "FromCity", "Body", "FromCountry", "To", "ToZip",
        "NumSegments", "MessageSid", "AccountSid", "From", "ApiVersion", "OptOutType",
    }  # fmt: skip
    assert (form["From"], form["FromCountry"], form["ToCountry"]) == (PHONE, "CL", "US")
    assert (form["SmsStatus"], form["NumSegments"], form["OptOutType"]) == ("received", "1", "STOP")
    assert form["MessageSid"] == form["SmsSid"] == form["SmsMessageSid"]
    assert SID.match(form["MessageSid"])
    assert RequestValidator(TEST_AUTH_TOKEN).validate(
        INBOUND_URL, form, headers["X-Twilio-Signature"]
    )


def test_inbound_sms_through_a_messaging_service_names_it() -> None:
    _, form = inbound_sms(
        INBOUND_URL, from_=PHONE, body="1", messaging_service_sid=TEST_MESSAGING_SERVICE_SID
    )

    assert form["MessagingServiceSid"] == TEST_MESSAGING_SERVICE_SID
    assert "OptOutType" not in form


@pytest.mark.parametrize(
    ("body", "segments"),
    [
        *[("a" * 160, 1), ("a" * 161, 2), ("a" * 306, 2), ("ñ" * 160, 1)],
        *[("{" * 80, 1), ("{" * 81, 2)],  # GSM-7 extension characters count twice
        *[("á" * 70, 1), ("á" * 71, 2), ("á" * 134, 2), ("🙂" * 35, 1), ("🙂" * 36, 2)],
    ],
)
def test_segments_are_counted_like_twilio(body: str, segments: int) -> None:
    assert num_segments(body) == segments


# ---- the REST API ---------------------------------------------------------------------


def test_create_answers_twilios_message_resource(api: httpx.Client) -> None:
    response = api.post(MESSAGES, data={"To": PHONE, "From": TEST_FROM_NUMBER, "Body": "Hola"})

    assert response.status_code == 201
    assert response.headers["Content-Type"].startswith("application/json")
    message = response.json()
    assert SID.match(message["sid"])
    assert message["status"] == "queued"
    assert message["date_sent"] is None
    assert parsedate_to_datetime(message["date_created"]).tzinfo is not None
    assert message["date_created"].endswith("+0000")
    assert (message["to"], message["from"], message["body"]) == (PHONE, TEST_FROM_NUMBER, "Hola")
    assert (message["num_segments"], message["num_media"]) == ("1", "0")
    assert message["direction"] == "outbound-api"
    assert message["uri"] == MESSAGES.removesuffix(".json") + f"/{message['sid']}.json"


def test_messaging_service_sends_are_accepted_then_settle(
    api: httpx.Client, server: TwilioFakeServer
) -> None:
    created = api.post(
        MESSAGES, data={"To": PHONE, "MessagingServiceSid": TEST_MESSAGING_SERVICE_SID, "Body": "x"}
    ).json()

    assert (created["status"], created["from"], created["num_segments"]) == ("accepted", None, "0")
    fetched = api.get(MESSAGES.removesuffix(".json") + f"/{created['sid']}.json").json()
    assert (fetched["status"], fetched["from"]) == ("sent", server.service_sender)
    assert fetched["date_sent"] is not None


def test_unauthenticated_requests_get_twilios_401(api: httpx.Client) -> None:
    response = api.post(MESSAGES, data={"To": PHONE}, auth=(TEST_ACCOUNT_SID, "wrong"))

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert response.json() == {
        "code": 20003,
        "detail": "Your AccountSid or AuthToken was incorrect.",
        "message": "Authenticate",
        "more_info": "https://www.twilio.com/docs/errors/20003",
        "status": 401,
    }


@pytest.mark.parametrize(
    ("form", "code"),
    [
        ({"From": TEST_FROM_NUMBER, "Body": "x"}, 21604),
        ({"To": PHONE, "Body": "x"}, 21603),
        ({"To": PHONE, "From": TEST_FROM_NUMBER}, 21602),
        ({"To": PHONE, "MessagingServiceSid": TEST_MESSAGING_SERVICE_SID}, 21619),
        ({"To": PHONE, "From": TEST_FROM_NUMBER, "Body": "x" * 1601}, 21617),
        ({"To": "+5698765", "From": TEST_FROM_NUMBER, "Body": "x"}, 21211),
        ({"To": "987654321", "From": TEST_FROM_NUMBER, "Body": "x"}, 21211),
        ({"To": "+15005550004", "From": TEST_FROM_NUMBER, "Body": "x"}, 21610),  # magic number
    ],
)
def test_validation_errors_use_twilios_codes(
    api: httpx.Client, server: TwilioFakeServer, form: dict[str, str], code: int
) -> None:
    response = api.post(MESSAGES, data=form)

    assert response.status_code == 400
    error = response.json()
    assert (error["code"], error["status"]) == (code, 400)
    assert error["more_info"] == f"https://www.twilio.com/docs/errors/{code}"
    assert server.messages == []
    assert server.requests[-1].form == form


def test_fetch_of_an_unknown_message_is_a_20404(api: httpx.Client) -> None:
    response = api.get(MESSAGES.removesuffix(".json") + "/SM" + "0" * 32 + ".json")

    assert response.status_code == 404
    assert response.json()["code"] == 20404


def test_list_filters_by_number_and_date_sent() -> None:
    clock = ManualClock(datetime(2027, 1, 13, 23, 59, 30, tzinfo=UTC))
    with (
        TwilioFakeServer(clock=clock.now) as server,
        httpx.Client(base_url=server.base_url, auth=(TEST_ACCOUNT_SID, TEST_AUTH_TOKEN)) as api,
    ):
        api.post(MESSAGES, data={"To": PHONE, "From": TEST_FROM_NUMBER, "Body": "13th"})
        clock.advance(minutes=1)
        api.post(MESSAGES, data={"To": PHONE, "From": TEST_FROM_NUMBER, "Body": "14th"})
        api.post(MESSAGES, data={"To": "+56911112222", "From": TEST_FROM_NUMBER, "Body": "other"})

        def bodies(**query: str) -> list[str]:
            page = api.get(MESSAGES, params={"To": PHONE, **query}).json()
            return [m["body"] for m in page["messages"]]

        assert bodies() == ["14th", "13th"]  # newest first
        assert bodies(**{"DateSent>": "2027-01-14"}) == ["14th"]
        assert bodies(**{"DateSent<": "2027-01-13"}) == ["13th"]
        assert bodies(DateSent="2027-01-13") == ["13th"]
        assert bodies(**{"DateSent>": "2027-01-13T23:59:45Z"}) == ["14th"]
        assert bodies(From="+15550000000") == []


# The stock SDK client (not ours) still authenticates the way aiohttp 3.14 deprecates.
@pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")
@pytest.mark.filterwarnings("ignore:The 'auth' parameter is deprecated:DeprecationWarning")
async def test_the_sdk_pages_through_the_list(server: TwilioFakeServer) -> None:
    server.reset()
    async with httpx.AsyncClient(
        base_url=server.base_url, auth=(TEST_ACCOUNT_SID, TEST_AUTH_TOKEN)
    ) as api:
        for i in range(5):
            await api.post(MESSAGES, data={"To": PHONE, "From": TEST_FROM_NUMBER, "Body": f"m{i}"})
        first = (await api.get(MESSAGES, params={"To": PHONE, "PageSize": 2})).json()
    assert first["next_page_uri"].startswith(MESSAGES + "?")
    assert (first["page"], first["page_size"], first["start"], first["end"]) == (0, 2, 0, 1)

    http = AsyncTwilioHttpClient()
    client = Client(TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, http_client=http)
    client.api.base_url = server.base_url
    try:
        found = await client.messages.list_async(to=PHONE, page_size=2)
    finally:
        await http.close()

    assert [m.body for m in found] == [f"m{i}" for i in reversed(range(5))]
    tokens = [r.query.get("PageToken") for r in server.requests if r.method == "GET"]
    assert tokens[1] is None and len(set(tokens[2:])) == 2  # pages 2 and 3 by PageToken


def test_lost_response_keeps_the_message(api: httpx.Client, server: TwilioFakeServer) -> None:
    server.lose_next()

    with pytest.raises(httpx.RemoteProtocolError):
        api.post(MESSAGES, data={"To": PHONE, "From": TEST_FROM_NUMBER, "Body": "lost"})

    assert [m.body for m in server.messages] == ["lost"]
    assert (
        api.post(MESSAGES, data={"To": PHONE, "From": TEST_FROM_NUMBER, "Body": "ok"}).status_code
        == 201
    )


def test_status_callback_for_a_stored_message_targets_its_status_callback(
    api: httpx.Client, server: TwilioFakeServer
) -> None:
    sid = api.post(
        MESSAGES,
        data={
            "To": PHONE,
            "MessagingServiceSid": TEST_MESSAGING_SERVICE_SID,
            "Body": "x",
            "StatusCallback": STATUS_URL,
        },
    ).json()["sid"]

    url, headers, form = server.status_callback_for(sid, "undelivered", error_code=30005)

    assert url == STATUS_URL
    assert (form["MessageSid"], form["MessageStatus"], form["ErrorCode"]) == (
        sid,
        "undelivered",
        "30005",
    )
    assert form["From"] == server.service_sender
    assert RequestValidator(TEST_AUTH_TOKEN).validate(url, form, headers["X-Twilio-Signature"])


def test_server_clock_is_injectable() -> None:
    moment = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
    with TwilioFakeServer(clock=lambda: moment) as server:
        created = httpx.post(
            server.base_url + MESSAGES,
            data={"To": PHONE, "From": TEST_FROM_NUMBER, "Body": "x"},
            auth=(TEST_ACCOUNT_SID, TEST_AUTH_TOKEN),
        ).json()

    assert parsedate_to_datetime(created["date_created"]) == moment
    assert moment - timedelta(seconds=1) < server.messages[0].created_at <= moment


async def test_a_request_parked_across_reset_does_not_leak_into_the_next_test(
    server: TwilioFakeServer,
) -> None:
    server.reset()
    server.delay_s = 0.2
    async with httpx.AsyncClient(
        base_url=server.base_url, auth=(TEST_ACCOUNT_SID, TEST_AUTH_TOKEN), timeout=0.05
    ) as api:
        with pytest.raises(httpx.ReadTimeout):
            await api.post(MESSAGES, data={"To": PHONE, "From": TEST_FROM_NUMBER, "Body": "late"})
    server.reset()  # the next test begins while the request still sleeps in the server
    await asyncio.sleep(0.3)

    assert server.messages == []
