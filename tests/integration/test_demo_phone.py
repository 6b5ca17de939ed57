"""``/demo/phone``: the demo participants' threads, sign-in codes included, and replies
handled like Twilio's webhook; a 404 outside the console demo."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from service.db.models import Checkin, InboundMessage
from service.demo import load_demo_data
from tests.integration.access.test_web_app import csrf_of

Client = AsyncTestClient[Litestar]


@pytest.fixture
def demo_phone(client: Client) -> Iterator[None]:
    client.app.state.demo_phone = True
    yield
    client.app.state.demo_phone = False


async def test_outside_the_demo_there_is_no_phone_page(client: Client) -> None:
    assert (await client.get("/demo/phone")).status_code == 404


async def test_the_demo_phone_shows_codes_and_takes_replies(
    client: Client, demo_phone: None
) -> None:
    await load_demo_data(client.app.state.runtime)
    page = await client.get("/demo/phone")
    assert page.status_code == 200 and 'id="DEMO-001"' in page.text
    assert "MSC-ROLE:" in page.text  # the reminders and questions the demo sent
    assert 'name="body"' in page.text

    # Sign in to /app as DEMO-001, reading the code on the demo phone.
    number = re.search(r'id="DEMO-001".*?class="number">([^<]+)<', page.text, re.S)
    assert number
    app_page = await client.get("/app")
    asked = await client.post(
        "/app/code", data={"phone": number.group(1), "csrf_token": csrf_of(app_page.text)}
    )
    thread = (await client.get("/demo/phone")).text.split('id="DEMO-001"')[1].split("</section>")[0]
    code = re.findall(r'class="text">[^<]*?\b(\d{6})\b', thread)[-1]
    signed = await client.post(
        "/app/verify",
        data={"phone": number.group(1), "code": code, "csrf_token": csrf_of(asked.text)},
    )
    assert "Mi próxima visita" in signed.text

    before = await Checkin.all().count()
    # Signed in to /app since the page was drawn: its reply forms still work.
    reply = await client.post(
        "/demo/phone/DEMO-001/reply",
        data={"body": "me duele el pecho", "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert reply.status_code == 303
    stored = await InboundMessage.filter(body="me duele el pecho").first()
    assert stored is not None and stored.message_sid.startswith("SMDEMO")
    assert await Checkin.all().count() == before + 1  # a report, as by SMS
