"""A REDCap-compatible API server (``/api/``) for tests and benches.

It builds its project from the set-up files the service generates (data dictionary,
events, instrument-event mappings, repeating instruments), exactly as a REDCap
administrator would upload them, deriving unique event names itself the way REDCap
does. Then it enforces REDCap's import rules and refuses a whole batch on any error,
with REDCap's status codes: unknown fields, fields not designated to the event,
repeating fields without instrument and instance, choice codes not in the dictionary,
malformed dates, unknown events or Data Access Groups -> 400 with ``{"error": ...}``;
a bad token -> 403. Imports upsert on (record, event, repeat instrument, instance) and,
as ``overwriteBehavior=normal`` does, never blank a stored value.

Faults can be programmed: ``fail_next`` (5xx before anything happens),
``accept_then_fail`` (the import is stored, then a 504: "did it happen?"),
``delay_next_import`` (stored, then the answer hangs; for kill -9 tests).
It runs aiohttp on its own loop in a daemon thread, on 127.0.0.1 and a random port.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import html
import io
import json
import re
import socket
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Self

from aiohttp import web

TEST_TOKEN = "0123456789ABCDEF0123456789ABCDEF"
Slot = tuple[str, str, str, str]  # record, event, repeat instrument ("" if none), instance


def redcap_event_names(labels: list[tuple[str, str]]) -> list[str]:
    """REDCap's own derivation (Project::getUniqueEventNames), written independently."""
    seen: list[str] = []
    out = []
    for label, arm in labels:
        text = html.unescape(label).strip()
        base = re.sub(r"[^0-9a-z_ ]", "", text, flags=re.I).replace(" ", "_")[:18].lower()
        base = base.strip("_") or hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()[:10]
        name = f"{base}_arm_{arm}"
        n = seen.count(name)
        suffix = "" if n == 0 else chr(97 + n) if n < 26 else chr(96 + n // 26) + chr(97 + n % 26)
        out.append(name + suffix)
        seen.append(name)
    return out


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


MAX_EVENT_NAME = 30


class RedcapSetupRefused(ValueError):
    """What REDCap says when an administrator uploads set-up files it does not take."""


@dataclass
class _Project:
    metadata: list[dict[str, str]]
    events: list[dict[str, str]]
    mappings: list[dict[str, str]]
    repeating: set[tuple[str, str]]  # (unique event, form)
    groups: set[str]
    fields: dict[str, dict[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.fields = {row["field_name"]: row for row in self.metadata}
        self.record_field = self.metadata[0]["field_name"]
        self.forms_of_event: dict[str, set[str]] = {}
        for m in self.mappings:
            self.forms_of_event.setdefault(m["unique_event_name"], set()).add(m["form"])


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}")
_NUMBER = re.compile(r"-?\d+(\.\d+)?")
_INTEGER = re.compile(r"-?\d+")


class RedcapFakeServer:
    def __init__(self, setup: Mapping[str, str], *, token: str = TEST_TOKEN,
                 groups: tuple[str, ...] = ("cua", "hblt")) -> None:  # fmt: skip
        events = _rows(setup["events.csv"])
        too_long = [e["event_name"] for e in events if len(e["event_name"]) > MAX_EVENT_NAME]
        if too_long:  # REDCap's own check when events are imported
            raise RedcapSetupRefused(
                f"event names longer than {MAX_EVENT_NAME} characters: {', '.join(too_long)}"
            )
        unique = redcap_event_names([(e["event_name"], e["arm_num"]) for e in events])
        for row, name in zip(events, unique, strict=True):
            row["unique_event_name"] = name  # REDCap ignores the uploaded name
        self.project = _Project(
            metadata=_rows(setup["data-dictionary.csv"]),
            events=events,
            mappings=_rows(setup["instrument-event-mappings.csv"]),
            repeating={(r["event_name"], r["form_name"])
                       for r in _rows(setup["repeating-instruments.csv"])},
            groups=set(groups),
        )  # fmt: skip
        self.token = token
        self.data: dict[Slot, dict[str, str]] = {}
        self._by_record: dict[str, set[Slot]] = {}  # exports by record stay cheap
        self.dags: dict[str, str] = {}
        self.imports = 0  # import requests that stored something
        self.requests: list[str] = []  # content/action of every request
        self._faults: list[int] = []
        self._after_store: list[tuple[str, float]] = []
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None

    # ---- programming it --------------------------------------------------------------

    def fail_next(self, count: int = 1, status: int = 500) -> None:
        with self._lock:
            self._faults.extend([status] * count)

    def accept_then_fail(self, status: int = 504) -> None:
        with self._lock:
            self._after_store.append(("fail", float(status)))

    def delay_next_import(self, seconds: float) -> None:
        with self._lock:
            self._after_store.append(("delay", seconds))

    def edit(
        self, record: str, event: str, form: str, instance: str, name: str, value: str
    ) -> None:
        """A coordinator changes a value by hand in REDCap's data entry page."""
        with self._lock:
            self._store_slot((record, event, form, instance))[name] = value

    def _store_slot(self, slot: Slot) -> dict[str, str]:
        self._by_record.setdefault(slot[0], set()).add(slot)
        return self.data.setdefault(slot, {})

    def slots(self, form: str | None = None) -> dict[Slot, dict[str, str]]:
        with self._lock:
            return {k: dict(v) for k, v in self.data.items() if form is None or k[2] == form}

    # ---- lifecycle -------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self._port is None:
            raise RuntimeError("server not started")
        return f"http://127.0.0.1:{self._port}/api/"

    def start(self) -> Self:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self._port = sock.getsockname()[1]
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()

        def serve() -> None:
            assert self._loop is not None
            asyncio.set_event_loop(self._loop)
            app = web.Application(client_max_size=64 * 1024**2)
            app.router.add_post("/api/", self._handle)
            runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
            self._loop.run_until_complete(runner.setup())
            self._loop.run_until_complete(web.SockSite(runner, sock).start())
            ready.set()
            try:
                self._loop.run_forever()
            finally:
                self._loop.run_until_complete(runner.cleanup())
                pending = asyncio.all_tasks(self._loop)
                for task in pending:
                    task.cancel()
                self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
                self._loop.close()

        self._thread = threading.Thread(target=serve, name="redcap-fake", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("fake REDCap did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        self._loop = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- the API ---------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        form = await request.post()
        content, action = str(form.get("content", "")), str(form.get("action", "export"))
        with self._lock:
            self.requests.append(f"{content}:{action}")
            fault = self._faults.pop(0) if self._faults else None
        if form.get("token") != self.token:
            return _error(403, "You do not have permissions to use the API")
        if fault is not None:
            return _error(fault, "Internal server error")
        if content == "metadata":
            return web.json_response(self.project.metadata)
        if content == "event":
            return web.json_response(self.project.events)
        if content == "formEventMapping":
            return web.json_response(self.project.mappings)
        if content == "record" and action == "export":
            return web.json_response(self._export(form))
        if content == "record" and action == "import":
            return await self._import(form)
        return _error(400, f'The value of the parameter "content" ({content}) is not valid')

    def _export(self, form: Mapping[str, Any]) -> list[dict[str, str]]:
        def values(prefix: str) -> set[str]:
            return {str(v) for k, v in form.items() if k.startswith(prefix + "[")}

        records, fields, events = values("records"), values("fields"), values("events")
        out = []
        with self._lock:
            chosen = (
                sorted(s for r in records for s in self._by_record.get(r, ()))
                if records
                else sorted(self.data)
            )
            for record, event, instrument, instance in chosen:
                stored = self.data[(record, event, instrument, instance)]
                if (records and record not in records) or (events and event not in events):
                    continue
                row = {
                    self.project.record_field: record,
                    "redcap_event_name": event,
                    "redcap_repeat_instrument": instrument,
                    "redcap_repeat_instance": instance,
                }
                for name, value in stored.items():
                    if not fields or name in fields:
                        row[name] = value
                out.append(row)
        return out

    def _problems(self, rows: list[dict[str, Any]]) -> list[str]:
        p = self.project
        problems = []
        events = {e["unique_event_name"] for e in p.events}
        for row in rows:
            record = str(row.get(p.record_field, ""))
            event = str(row.get("redcap_event_name", ""))
            instrument = str(row.get("redcap_repeat_instrument", "") or "")
            instance = str(row.get("redcap_repeat_instance", "") or "")

            def bad(name: str, value: object, message: str, record: str = record) -> None:
                problems.append(f'"{record}","{name}","{value}","{message}"')

            if event not in events:
                bad("redcap_event_name", event, "The event name is not valid")
                continue
            dag = row.get("redcap_data_access_group")
            if dag and dag not in p.groups:
                bad("redcap_data_access_group", dag, "The Data Access Group does not exist")
            for name, value in row.items():
                if name in (p.record_field, "redcap_event_name", "redcap_repeat_instrument",
                            "redcap_repeat_instance", "redcap_data_access_group"):  # fmt: skip
                    continue
                form_name = name.removesuffix("_complete") if name.endswith("_complete") else None
                meta = p.fields.get(name)
                if meta is None and form_name is None:
                    bad(name, value, "The field does not exist in the project")
                    continue
                home = meta["form_name"] if meta else str(form_name)
                if home not in p.forms_of_event.get(event, set()):
                    bad(name, value, f"The field is not designated to the event {event}")
                    continue
                repeating = (event, home) in p.repeating
                if repeating and (instrument != home or not instance.isdigit()):
                    bad(name, value, "Repeating instrument field needs redcap_repeat_instrument "
                                     "and redcap_repeat_instance")  # fmt: skip
                if not repeating and (instrument or instance):
                    bad(name, value, "The instrument is not repeating in this event")
                if value in ("", None) or meta is None:
                    continue
                problems.extend(_value_problems(record, name, str(value), meta))
        return problems

    async def _import(self, form: Mapping[str, Any]) -> web.Response:
        try:
            rows = json.loads(str(form.get("data", "")))
            assert isinstance(rows, list)
        except (ValueError, AssertionError):
            return _error(400, "The data being imported is not formatted correctly")
        problems = self._problems(rows)
        if problems:
            return _error(400, "\n".join(problems))
        p = self.project
        with self._lock:
            for row in rows:
                slot = (str(row[p.record_field]), str(row["redcap_event_name"]),
                        str(row.get("redcap_repeat_instrument") or ""),
                        str(row.get("redcap_repeat_instance") or ""))  # fmt: skip
                stored = self._store_slot(slot)
                for name, value in row.items():
                    if name.startswith("redcap_") or name == p.record_field:
                        continue
                    if value not in ("", None):  # overwriteBehavior=normal
                        stored[name] = str(value)
                if row.get("redcap_data_access_group"):
                    self.dags[slot[0]] = str(row["redcap_data_access_group"])
            self.imports += 1
            after = self._after_store.pop(0) if self._after_store else None
        ids = sorted({str(r[p.record_field]) for r in rows})
        if after and after[0] == "fail":
            return _error(int(after[1]), "Gateway Timeout")
        if after and after[0] == "delay":
            await asyncio.sleep(after[1])
        return web.json_response(ids)


def _value_problems(record: str, name: str, value: str, meta: Mapping[str, str]) -> list[str]:
    kind = meta["field_type"]
    validation = meta["text_validation_type_or_show_slider_number"]
    message = None
    if kind == "yesno" and value not in ("0", "1"):
        message = "The value is not a valid category for this field"
    elif kind in ("radio", "dropdown"):
        codes = {
            c.split(",", 1)[0].strip() for c in meta["select_choices_or_calculations"].split("|")
        }
        if value not in codes:
            message = "The value is not a valid category for this field"
    elif validation == "date_ymd" and not _DATE.fullmatch(value):
        message = "The value is not a valid date (Y-M-D)"
    elif validation == "datetime_ymd" and not _DATETIME.fullmatch(value):
        message = "The value is not a valid datetime (Y-M-D H:M)"
    elif validation == "number" and not _NUMBER.fullmatch(value):
        message = "The value you provided could not be validated because it does not follow the expected format"  # noqa: E501
    elif validation == "integer" and not _INTEGER.fullmatch(value):
        message = "The value must be an integer"
    return [f'"{record}","{name}","{value}","{message}"'] if message else []


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)
