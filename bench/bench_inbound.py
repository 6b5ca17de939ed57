"""Benchmark: the inbound SMS webhook against a bare Litestar insert endpoint.

Run from the repository root (not part of the test suite):

    .venv/bin/python -m bench.bench_inbound [--messages 400] [--phones 16] [--concurrency 16]

Both are served by uvicorn on 127.0.0.1 (a random port each) in this process, on
the same database, and posted to over real HTTP by ``--concurrency`` clients at once,
as Twilio's edge does. The clients run in a process of their own, as Twilio runs on
machines of its own: in the served process they would take the event loop's time
from the server and from understanding (the figures of the served process's side
were measured so until 2026-12-07, and were the lower for it):

- baseline: a Litestar route that parses the form and inserts one ``inbound_message``
  row (no signature check, no transaction of its own, nothing else);
- webhook: ``POST /webhooks/twilio/sms`` of the real app: signature check, one short
  transaction that takes the number's storing lock, stores the message and audits it;
  answered with the empty TwiML. Understanding (the inbox: here "hola" from an enrolled
  participant, so an acknowledgement within the hourly cap and a coordinators' queue
  item) runs in the same process right after each answer, in order per number.

The messages come from ``--phones`` participants in turn (bursts per number, as when
people answer a prompt). Rounds alternate (baseline, webhook, baseline, webhook …) and
each side's best round is reported, so a burst of load from another process on a
shared machine hurts both sides alike. After each webhook round the bench waits until
every message is understood and reports, from the stored rows, receipt to reply
queued (``understood_at - received_at``: p50 and p99, the figure ``/metrics`` exports)
and when the last message of the round was understood. Then 20 messages more
(``COUNTED``) go one at a time to each side while every statement the database
receives is counted (SQLite's trace callback, asyncpg's query logger: BEGIN,
savepoints, NOTIFY and the pool's reset included), and the statements per message are
printed with one message's sequence (the webhook's include what understanding ran
meanwhile). Last, a steady load (``--paced`` messages at ``--rate`` a second, the pace of
a large study's participants answering a prompt) gives the answer's p50/p99 and receipt
to reply queued p50/p99 when understanding is not behind a burst.

Set BENCH_DATABASE_URL=postgres://… (a scratch database: the migrations are applied
and the tables emptied) to measure PostgreSQL instead of a fresh SQLite file.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import tempfile
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, date, datetime
from multiprocessing import get_context
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
import uvicorn
from litestar import Litestar, Request, Response, post
from tortoise import connections
from twilio.request_validator import RequestValidator

if TYPE_CHECKING:
    from service.settings import Settings

NOW = datetime(2027, 3, 1, 13, 0, tzinfo=UTC)
PUBLIC = "http://bench.local"
TOKEN = "bench-auth-token-0123456789abcdef"  # noqa: S105  # the bench signs its own posts
ROUNDS = 5  # best of five: a round lasts under a second, so a neighbour's burst spoils one
COUNTED = 20  # messages sent one at a time while statements are counted
_EMPTY_POSTGRES = (
    "TRUNCATE inbox_item, alert, checkin, conversation, inbound_message, outbound_message,"
    " audit_log, participant RESTART IDENTITY CASCADE"
)


def bench_settings(url: str) -> Settings:
    """The served app's settings: its own database, signed webhooks."""
    from service.settings import load_settings

    return load_settings(
        {
            "DATABASE_URL": url,
            "SECRET_KEY": "bench-secret-key-0123456789-0123456789",
            "TWILIO_AUTH_TOKEN": TOKEN,
            "PUBLIC_BASE_URL": PUBLIC,
        }
    )


@post("/bare/sms", status_code=200, media_type="application/xml")
async def bare_insert(request: Request) -> Response[str]:
    from service.db.models import InboundMessage
    from service.domain.states import InboundHandling

    form = await request.form()
    await InboundMessage.create(
        message_sid=str(form["MessageSid"]),
        from_phone=str(form["From"])[:20],
        to_phone=str(form["To"])[:20],
        body=str(form["Body"]),
        received_at=datetime.now(UTC),
        # Stored as handled: a pending row (the default) would be understood by the real
        # app's inbox with the next webhook of its number, and counted in its figures
        # (until 2026-12-07 every webhook round understood the bare round's 400 too).
        handling=InboundHandling.QUEUED,
    )
    return Response("<?xml version='1.0' encoding='UTF-8'?><Response />")


async def _serve(app: Any) -> tuple[uvicorn.Server, asyncio.Task[None], str]:
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110  # uvicorn offers no event to wait on
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, task, f"http://127.0.0.1:{port}"


async def _seed(count: int) -> list[str]:
    from service.db.models import Participant, Site

    site = await Site.get(code="CUA")
    phones = [f"+5698{n:07d}" for n in range(count)]
    await Participant.bulk_create(
        [
            Participant(
                study_id=f"IN{n:05d}",
                site=site,
                phone=phone,
                timezone="America/Santiago",
                can_become_pregnant=False,
                baseline_infusion_date=date(2026, 9, 1),
                sms_consent=True,
            )
            for n, phone in enumerate(phones)
        ],
        batch_size=1000,
    )
    return phones


def _forms(phones: list[str], tag: str, count: int | None = None) -> list[dict[str, str]]:
    """``count`` messages (one per phone by default) from the phones in turn."""
    forms = []
    for n in range(len(phones) if count is None else count):
        phone = phones[n % len(phones)]
        sid = f"SM{tag}{n:030x}"
        forms.append(
            {
                "MessageSid": sid,
                "SmsSid": sid,
                "AccountSid": "AC" + "0" * 32,
                "From": phone,
                "To": "+15005550006",
                "Body": "hola",
                "NumSegments": "1",
                "ApiVersion": "2010-04-01",
            }
        )
    return forms


class _Statements:
    """Counts every statement the database receives (bench-only instrumentation)."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.on = False

    def _sqlite(self, sql: str) -> None:
        if self.on:
            self.seen.append(sql)

    def _postgres(self, record: Any) -> None:
        if self.on:
            self.seen.append(record.query)

    async def attach(self) -> None:
        conn: Any = connections.get("default")
        if conn.capabilities.dialect == "sqlite":
            await conn._connection.set_trace_callback(self._sqlite)
            return
        for holder in conn._pool._holders:  # every pooled connection (opened by the rounds)
            if holder._con is not None:
                holder._con.add_query_logger(self._postgres)

    async def per_message(self, post: Callable[[], Awaitable[float]], count: int) -> float:
        self.seen.clear()
        self.on = True
        await post()
        self.on = False
        return len(self.seen) / count

    def sequence(self, count: int) -> list[str]:
        """One message's statements (the last ``len/count``), shortened."""
        one = self.seen[-len(self.seen) // count :]
        return [" ".join(sql.split())[:90] for sql in one]


async def _post_all(url: str, forms: list[dict[str, str]], concurrency: int, sign: bool) -> float:
    validator = RequestValidator(TOKEN)
    signed = [
        (
            form,
            {
                "X-Twilio-Signature": validator.compute_signature(
                    f"{PUBLIC}/webhooks/twilio/sms", form
                )
            }
            if sign
            else {},
        )
        for form in forms
    ]
    queue = iter(signed)
    async with aiohttp.ClientSession() as session:

        async def worker() -> None:
            for form, headers in queue:
                async with session.post(url, data=form, headers=headers) as response:
                    await response.read()
                    if response.status != 200:
                        raise RuntimeError(f"{url}: HTTP {response.status}")

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - start


async def _post_paced(url: str, forms: list[dict[str, str]], rate: float) -> list[float]:
    """Post at a steady ``rate`` a second (as a study's participants answering a prompt
    do, not as fast as a client can); returns each answer's time in ms."""
    validator = RequestValidator(TOKEN)
    times: list[float] = []
    async with aiohttp.ClientSession() as session:

        async def one(n: int, form: dict[str, str]) -> None:
            await asyncio.sleep(n / rate)
            signature = validator.compute_signature(f"{PUBLIC}/webhooks/twilio/sms", form)
            started = time.perf_counter()
            async with session.post(
                url, data=form, headers={"X-Twilio-Signature": signature}
            ) as response:
                await response.read()
                if response.status != 200:
                    raise RuntimeError(f"{url}: HTTP {response.status}")
            times.append((time.perf_counter() - started) * 1000)

        await asyncio.gather(*(one(n, form) for n, form in enumerate(forms)))
    return times


class _Clients:
    """Twilio's side: one process of its own that posts (``_post_all``, ``_post_paced``)
    and answers how long it took; the forms are built and signed before the clock starts."""

    def __init__(self) -> None:
        self._pool = ProcessPoolExecutor(1, mp_context=get_context("spawn"))

    async def post_all(
        self, url: str, forms: list[dict[str, str]], concurrency: int, sign: bool
    ) -> float:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, _run_post_all, url, forms, concurrency, sign)

    async def post_paced(self, url: str, forms: list[dict[str, str]], rate: float) -> list[float]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, _run_post_paced, url, forms, rate)

    def close(self) -> None:
        self._pool.shutdown()


def _run_post_all(url: str, forms: list[dict[str, str]], concurrency: int, sign: bool) -> float:
    return asyncio.run(_post_all(url, forms, concurrency, sign))


def _run_post_paced(url: str, forms: list[dict[str, str]], rate: float) -> list[float]:
    return asyncio.run(_post_paced(url, forms, rate))


async def _understood(tag: str, started: float) -> tuple[float, float, float]:
    """Wait until the round's messages are understood; (p50, p99) of receipt to reply
    queued in ms, and seconds from the round's start to the last one understood."""
    from service.db.models import InboundMessage
    from service.domain.adherence import nearest_rank

    while await InboundMessage.filter(handling="pending").exists():  # noqa: ASYNC110  # rows
        await asyncio.sleep(0.01)
    done = time.perf_counter() - started
    pairs = await InboundMessage.filter(message_sid__startswith=f"SM{tag}").values_list(
        "received_at", "understood_at"
    )
    waits = [(u - r).total_seconds() * 1000 for r, u in pairs]
    return nearest_rank(waits, 0.5) or 0.0, nearest_rank(waits, 0.99) or 0.0, done


async def bench_inbound(
    messages: int,
    phones_count: int,
    concurrency: int,
    rate: float,
    paced: int,
    rounds_count: int = ROUNDS,
) -> None:
    from service.actions.participants import sync_sites
    from service.adapters.console_sms import ConsoleSmsGateway
    from service.app import create_app
    from service.db.lifecycle import apply_migrations, close_database, open_database
    from service.db.models import InboundMessage, OutboundMessage
    from service.ports import SystemClock

    logging.getLogger("service").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory() as folder:
        url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite://{Path(folder) / 'bench.sqlite3'}"
        settings = bench_settings(url)
        await open_database(url)
        await apply_migrations()
        if url.startswith("postgres"):  # a scratch database: start from empty tables
            await connections.get("default").execute_script(_EMPTY_POSTGRES)
        await close_database()
        app = create_app(  # the real clock: receipt to understanding is measured in it
            settings, gateway=ConsoleSmsGateway(), clock=SystemClock(), run_scheduler=False
        )
        clients = _Clients()
        real, real_task, real_url = await _serve(app)
        bare, bare_task, bare_url = await _serve(Litestar([bare_insert]))
        try:
            await sync_sites(app.state.runtime)
            seeded = await _seed(phones_count + COUNTED)  # the last ones only for counting
            phones, counted = seeded[:phones_count], seeded[phones_count:]
            results: dict[str, list[float]] = {"bare": [], "webhook": []}
            latency: list[tuple[float, float, float]] = []
            runs: list[tuple[str, Callable[[int], Awaitable[float]]]] = [
                (
                    "bare",
                    lambda r: clients.post_all(
                        f"{bare_url}/bare/sms",
                        _forms(phones, f"b{r}", messages),
                        concurrency,
                        False,
                    ),
                ),
                (
                    "webhook",
                    lambda r: clients.post_all(
                        f"{real_url}/webhooks/twilio/sms",
                        _forms(phones, f"w{r}", messages),
                        concurrency,
                        True,
                    ),
                ),
            ]
            for round_no in range(rounds_count):
                for name, run in runs:
                    started = time.perf_counter()
                    results[name].append(messages / await run(round_no))
                    if name == "webhook":
                        latency.append(await _understood(f"w{round_no}", started))
            started = time.perf_counter()
            answers = await clients.post_paced(
                f"{real_url}/webhooks/twilio/sms", _forms(phones, "p", paced), rate
            )
            paced_latency = await _understood("p", started)
            counter = _Statements()
            await counter.attach()
            bare_sql = await counter.per_message(
                lambda: clients.post_all(f"{bare_url}/bare/sms", _forms(counted, "bc"), 1, False),
                COUNTED,
            )
            hook_sql = await counter.per_message(
                lambda: clients.post_all(
                    f"{real_url}/webhooks/twilio/sms", _forms(counted, "wc"), 1, True
                ),
                COUNTED,
            )
            sequence = counter.sequence(COUNTED)
            stored = await InboundMessage.all().count()
            replies = await OutboundMessage.filter(kind="reply").count()
        finally:
            real.should_exit = bare.should_exit = True
            await asyncio.gather(real_task, bare_task)
            clients.close()
    from service.domain.adherence import nearest_rank

    backend = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    best_bare, best_hook = max(results["bare"]), max(results["webhook"])

    def rounds(name: str) -> str:
        return ", ".join(f"{r:.0f}" for r in results[name])

    print(
        f"inbound webhook, {messages} messages from {phones_count} phones x {rounds_count} rounds,"
        f" {concurrency} concurrent"
    )
    print(f"  database: {backend}")
    print(f"  baseline: bare Litestar insert    {best_bare:8.0f} requests/s  ({rounds('bare')})")
    print(f"  webhook (verify, store, answer)   {best_hook:8.0f} requests/s  ({rounds('webhook')})")
    print(f"  ratio (webhook / bare)            {best_hook / best_bare:8.2f}")
    for n, (p50, p99, done) in enumerate(latency):
        print(
            f"  round {n + 1}: receipt to reply queued p50 {p50:.0f} ms, p99 {p99:.0f} ms;"
            f" last of {messages} understood {done:.2f} s after the round began"
        )
    p50, p99, done = paced_latency
    print(
        f"  steady load, {paced} messages at {rate:.0f}/s: answer p50"
        f" {nearest_rank(answers, 0.5) or 0:.0f} ms, p99 {nearest_rank(answers, 0.99) or 0:.0f} ms;"
        f" receipt to reply queued p50 {p50:.0f} ms, p99 {p99:.0f} ms"
    )
    print(f"  statements per message: bare {bare_sql:.1f}, webhook {hook_sql:.1f}")
    print(f"  rows: {stored} inbound stored, {replies} reply rows queued")
    print("  one webhook message's statements:")
    for sql in sequence:
        print(f"    {sql}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=400)
    parser.add_argument("--phones", type=int, default=16)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rate", type=float, default=50.0, help="steady load, messages/s")
    parser.add_argument("--paced", type=int, default=500, help="messages of the steady load")
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="rounds a side (best counts)")
    args = parser.parse_args()
    asyncio.run(
        bench_inbound(
            args.messages, args.phones, args.concurrency, args.rate, args.paced, args.rounds
        )
    )


if __name__ == "__main__":
    main()
