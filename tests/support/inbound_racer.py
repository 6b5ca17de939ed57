"""A second (and third) process handling inbound SMS against the test database.

``python -m tests.support.inbound_racer URL PHONE AT FIRST LAST`` opens the
database, prints ``ready``, waits for a line on stdin (so the racers start together),
then handles messages FIRST..LAST-1 from PHONE concurrently (sid ``SM`` + number) and
prints one JSON line of outcome counts. Used by test_inbound_ordering.py.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections import Counter
from datetime import datetime

from service.actions.inbound import handle_inbound
from service.adapters.console_sms import ConsoleSmsGateway
from service.composition import build_runtime
from service.db.lifecycle import close_database, open_database
from service.ports import ManualClock
from service.settings import load_settings
from service.web.twilio_forms import inbound_sms
from tests.conftest import SECRET


def form(phone: str, n: int) -> dict[str, str]:
    sid = f"SM{n:032x}"
    return {"MessageSid": sid, "SmsSid": sid, "From": phone, "To": "+15005550006", "Body": "hola"}


async def main(url: str, phone: str, at: str, first: int, last: int) -> None:
    await open_database(url)
    try:
        settings = load_settings({"DATABASE_URL": url, "SECRET_KEY": SECRET})
        clock = ManualClock(datetime.fromisoformat(at))
        rt = build_runtime(settings, gateway=ConsoleSmsGateway(), clock=clock)
        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        outcomes = await asyncio.gather(
            *(handle_inbound(rt, inbound_sms(form(phone, n))) for n in range(first, last)),
            return_exceptions=True,
        )
        counts = Counter(
            type(o).__name__ if isinstance(o, BaseException) else o.handling for o in outcomes
        )
        print(json.dumps(counts), flush=True)
    finally:
        await close_database()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])))
