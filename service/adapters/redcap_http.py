"""REDCap's API over HTTP (aiohttp, already a dependency of the twilio SDK's async client).

Every call is one POST of form fields to ``REDCAP_API_URL`` with the token, as REDCap
requires; answers are JSON. Status codes become :class:`~service.ports.RedcapError`
kinds: 400 refused (REDCap's ``error`` text kept: it names the rows and fields), 401
or 403 forbidden, anything else (5xx, timeouts, refused connections) unavailable.
The token never appears in an error or a log line.
"""

from __future__ import annotations

import json
from typing import Any, Final

import aiohttp

from service.ports import RedcapError
from service.settings import Settings

__all__ = ["RedcapHttpApi", "build_redcap"]

_TIMEOUT: Final = aiohttp.ClientTimeout(total=60)


class RedcapHttpApi:
    def __init__(self, url: str, token: str, *, timeout_s: float | None = None) -> None:
        self._url = url
        self._token = token
        self._timeout = aiohttp.ClientTimeout(total=timeout_s) if timeout_s else _TIMEOUT

    async def _post(self, fields: list[tuple[str, str]]) -> Any:
        # A session per call: a push makes a handful of calls, each carrying a batch, and
        # a session bound to no event loop survives app lifespans and CLI runs alike.
        form = [("token", self._token), ("format", "json"), ("returnFormat", "json"), *fields]
        try:
            async with (
                aiohttp.ClientSession(timeout=self._timeout) as session,
                session.post(self._url, data=form) as response,
            ):
                text = await response.text()
                status = response.status
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise RedcapError(f"REDCap did not answer ({type(exc).__name__})",
                              kind="unavailable") from None  # fmt: skip
        if status == 200:
            return json.loads(text) if text.strip() else []
        try:
            detail = str(json.loads(text).get("error", text))
        except (ValueError, AttributeError):
            detail = text[:500]
        if status == 400:
            raise RedcapError(detail, kind="refused", http_status=status)
        if status in (401, 403):
            raise RedcapError(detail, kind="forbidden", http_status=status)
        raise RedcapError(f"REDCap answered {status}: {detail[:200]}", kind="unavailable",
                          http_status=status)  # fmt: skip

    async def export_metadata(self) -> list[dict[str, str]]:
        result: list[dict[str, str]] = await self._post([("content", "metadata")])
        return result

    async def export_events(self) -> list[dict[str, str]]:
        result: list[dict[str, str]] = await self._post([("content", "event")])
        return result

    async def export_form_event_mappings(self) -> list[dict[str, str]]:
        result: list[dict[str, str]] = await self._post([("content", "formEventMapping")])
        return result

    async def export_records(
        self, records: list[str], fields: list[str], events: list[str]
    ) -> list[dict[str, str]]:
        form = [("content", "record"), ("action", "export"), ("type", "flat")]
        form += [(f"records[{i}]", r) for i, r in enumerate(records)]
        form += [(f"fields[{i}]", f) for i, f in enumerate(fields)]
        form += [(f"events[{i}]", e) for i, e in enumerate(events)]
        result: list[dict[str, str]] = await self._post(form)
        return result

    async def import_records(self, rows: list[dict[str, str]]) -> list[str]:
        result = await self._post(
            [
                ("content", "record"),
                ("action", "import"),
                ("type", "flat"),
                ("overwriteBehavior", "normal"),
                ("forceAutoNumber", "false"),
                ("dateFormat", "YMD"),
                ("returnContent", "ids"),
                ("data", json.dumps(rows, ensure_ascii=False)),
            ]
        )
        return [str(r) for r in result] if isinstance(result, list) else []

    async def aclose(self) -> None:
        """Nothing held between calls."""


def build_redcap(settings: Settings) -> RedcapHttpApi | None:
    """The REDCap adapter when REDCAP_API_URL and REDCAP_API_TOKEN are set, else None."""
    if settings.redcap_api_url and settings.redcap_api_token:
        return RedcapHttpApi(settings.redcap_api_url, settings.redcap_api_token)
    return None
