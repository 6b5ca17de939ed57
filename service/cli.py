"""The `followup` command: serve [--workers N] | worker | migrate | user add/disable/enable |
apikey add | reminders preview."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from service.actions.errors import ActionError
from service.domain.edc.naming import EdcMappingError
from service.domain.protocol_loader import ProtocolError
from service.settings import ConfigError, Settings, load_settings

if TYPE_CHECKING:
    from service.runtime import Runtime

log = logging.getLogger("service.cli")


def _configure_logging() -> None:
    """Before settings are read (so a configuration error is logged alike), from the
    environment alone; ``main`` applies the validated settings right after."""
    import os

    from service.logs import configure_logging

    fmt = (os.environ.get("LOG_FORMAT") or "text").strip().lower()
    configure_logging("json" if fmt == "json" else "text", "INFO")


async def _with_database(settings: Settings, work: Callable[[], Awaitable[Any]]) -> Any:
    from service.db.lifecycle import with_database  # the ORM loads only for commands that need it

    return await with_database(settings, work)


def _runtime(settings: Settings) -> Runtime:
    from service.composition import build_runtime

    return build_runtime(settings)


async def _preflight(settings: Settings) -> None:
    """Refuse to serve an unmigrated PostgreSQL database before binding a port."""
    from service.db.lifecycle import ensure_migrated

    await _with_database(settings, lambda: ensure_migrated(may_migrate=settings.is_embedded))


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from service.app import create_app

    asyncio.run(_preflight(settings))
    if args.workers > 1:
        from service.serving import serve_workers

        return serve_workers(
            settings,
            host=args.host,
            port=args.port,
            workers=args.workers,
            demo=args.demo,
            options=uvicorn_options(settings),
        )
    app = create_app(settings, demo=args.demo)
    uvicorn.run(app, host=args.host, port=args.port, **uvicorn_options(settings))
    return 0


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """How ``serve`` runs uvicorn: our logging (``log_config=None`` keeps uvicorn from
    replacing it) and X-Forwarded-For believed only from FORWARDED_ALLOW_IPS."""
    trusted = settings.forwarded_allow_ips
    return {
        "log_config": None,
        "proxy_headers": bool(trusted),
        "forwarded_allow_ips": list(trusted) if trusted else [],
        "server_header": False,
    }


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    from service.worker import run_worker

    asyncio.run(_preflight(settings))
    asyncio.run(run_worker(settings))
    return 0


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    from service.db.lifecycle import apply_migrations

    applied = asyncio.run(_with_database(settings, apply_migrations))
    print(f"applied {len(applied)} migration(s)" + (f": {', '.join(applied)}" if applied else ""))
    return 0


def _read_password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if first != getpass.getpass("Again: "):
            raise ActionError("passwords differ", field="password")
        return first
    return sys.stdin.readline().rstrip("\n")


def cmd_user_add(settings: Settings, args: argparse.Namespace) -> int:
    from service.actions.access import add_staff_user
    from service.actions.participants import sync_sites

    password = _read_password()
    rt = _runtime(settings)

    async def work() -> None:
        from service.db.lifecycle import ensure_migrated

        await ensure_migrated(may_migrate=settings.is_embedded)
        await sync_sites(rt)
        await add_staff_user(rt, args.email, args.role, args.site or [], password)

    asyncio.run(_with_database(settings, work))
    print(f"added {args.role} {args.email.strip().lower()}")
    return 0


def cmd_user_set_active(settings: Settings, args: argparse.Namespace) -> int:
    from service.actions.access import set_staff_active

    rt = _runtime(settings)
    active = args.sub == "enable"

    async def work() -> None:
        from service.db.lifecycle import ensure_migrated

        await ensure_migrated(may_migrate=settings.is_embedded)
        await set_staff_active(rt, args.email, active=active, actor="system:cli")

    asyncio.run(_with_database(settings, work))
    print(f"{'enabled' if active else 'disabled'} {args.email.strip().lower()}")
    return 0


def cmd_apikey_add(settings: Settings, args: argparse.Namespace) -> int:
    from service.actions.access import add_api_key

    rt = _runtime(settings)

    async def work() -> str:
        from service.db.lifecycle import ensure_migrated

        await ensure_migrated(may_migrate=settings.is_embedded)
        return await add_api_key(rt, args.name, args.scope, args.site or [])

    key = asyncio.run(_with_database(settings, work))
    print(key)
    print("Store this key now: only its hash is kept.", file=sys.stderr)
    return 0


def cmd_reminders_preview(settings: Settings, args: argparse.Namespace) -> int:
    from service.actions.views import preview_lines

    rt = _runtime(settings)
    lines = asyncio.run(_with_database(settings, lambda: preview_lines(rt, args.study_id)))
    for line in lines:
        print(line)
    return 0


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="followup", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="API, webhooks, dashboard and the scheduler")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--demo", action="store_true", help="enrol fictitious participants")
    serve.add_argument(
        "--workers",
        type=positive_int,
        default=1,
        help="web processes sharing the port (PostgreSQL); the scheduler runs once beside them",
    )
    serve.set_defaults(func=cmd_serve)

    worker = sub.add_parser("worker", help="the scheduler and dispatcher alone, without the API")
    worker.set_defaults(func=cmd_worker)

    migrate = sub.add_parser("migrate", help="apply the committed migrations")
    migrate.set_defaults(func=cmd_migrate)

    user = sub.add_parser("user", help="staff accounts").add_subparsers(dest="sub", required=True)
    add = user.add_parser("add", help="add a staff account; password from standard input")
    add.add_argument("email")
    add.add_argument("--role", required=True, choices=["admin", "coordinator", "monitor"])
    add.add_argument("--site", action="append", metavar="CODE")
    add.set_defaults(func=cmd_user_add)
    disable = user.add_parser("disable", help="disable an account; its tokens stop at once")
    disable.add_argument("email")
    disable.set_defaults(func=cmd_user_set_active)
    enable = user.add_parser("enable", help="enable a disabled account (old tokens stay dead)")
    enable.add_argument("email")
    enable.set_defaults(func=cmd_user_set_active)

    apikey = sub.add_parser("apikey", help="EDC API keys").add_subparsers(dest="sub", required=True)
    key = apikey.add_parser("add", help="create a key; printed once, only its hash is stored")
    key.add_argument("name")
    key.add_argument("--scope", required=True, choices=["edc"])
    key.add_argument("--site", action="append", metavar="CODE")
    key.set_defaults(func=cmd_apikey_add)

    reminders = sub.add_parser("reminders", help="planned messages").add_subparsers(
        dest="sub", required=True
    )
    preview = reminders.add_parser("preview", help="print a participant's planned messages")
    preview.add_argument("study_id")
    preview.set_defaults(func=cmd_reminders_preview)

    from service.cli_edc import add_edc_commands

    add_edc_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _configure_logging()
    try:
        settings = load_settings()
        from service.logs import configure_logging

        configure_logging(settings.log_format, settings.log_level)
        return int(args.func(settings, args))
    except (ConfigError, ProtocolError, EdcMappingError) as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except ActionError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    except Exception as exc:
        from service.db.lifecycle import DatabaseUnusable, MigrationsPending

        if isinstance(exc, MigrationsPending | DatabaseUnusable):
            print(f"error: {exc}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    raise SystemExit(main())
