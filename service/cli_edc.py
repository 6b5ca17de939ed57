"""``followup edc ...``: the EDC feed by hand (set-up files, exports, pushes).

Kept out of cli.py so the EDC commands grow without touching the others; cli.py
calls :func:`add_edc_commands` once.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from service.settings import Settings

__all__ = ["add_edc_commands"]


def cmd_redcap_setup(settings: Settings, args: argparse.Namespace) -> int:
    from service.actions.edc import redcap_setup_files
    from service.composition import build_runtime

    folder = Path(args.dir)
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in redcap_setup_files(build_runtime(settings)).items():
        (folder / name).write_text(text, encoding="utf-8", newline="")
        print(folder / name)
    return 0


def cmd_push(settings: Settings, args: argparse.Namespace) -> int:
    import asyncio
    import json

    from service.actions.edc import push_to_redcap
    from service.composition import build_runtime
    from service.db.lifecycle import with_database
    from service.domain.states import PushStatus

    rt = build_runtime(settings)

    async def work() -> object:
        from service.db.lifecycle import ensure_migrated

        await ensure_migrated(may_migrate=settings.is_embedded)
        try:
            return await push_to_redcap(rt, dry_run=args.dry_run, actor="system:cli")
        finally:
            if rt.redcap is not None:
                await rt.redcap.aclose()

    result = asyncio.run(with_database(settings, work))
    if args.dry_run:
        for row in result.would_send:
            print(json.dumps(row, ensure_ascii=False))
    print(result.summary())
    ok = (PushStatus.OK, PushStatus.DRY_RUN)
    return 0 if result.status in ok else 1


def add_edc_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    edc = sub.add_parser("edc", help="the EDC feed: REDCap set-up, ODM export, push")
    commands = edc.add_subparsers(dest="sub", required=True)
    setup = commands.add_parser("redcap-setup", help="write the REDCap project set-up files")
    setup.add_argument("dir", help="folder to write the four CSV files into")
    setup.set_defaults(func=cmd_redcap_setup)
    export = commands.add_parser("export", help="write EDC files").add_subparsers(
        dest="format", required=True
    )
    odm = export.add_parser("odm", help="ODM 1.3.2 Transactional clinical data")
    odm.add_argument("--since", metavar="CURSOR", help="the FileOID of the previous file")
    odm.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    odm.set_defaults(func=cmd_export_odm)
    push = commands.add_parser("push", help="send REDCap what it does not have yet")
    push.add_argument("--dry-run", action="store_true", help="print the rows, send nothing")
    push.set_defaults(func=cmd_push)


def cmd_export_odm(settings: Settings, args: argparse.Namespace) -> int:
    import asyncio
    import sys

    from service.actions.edc import start_odm_export
    from service.composition import build_runtime
    from service.db.lifecycle import with_database
    from service.domain.actors import Actor
    from service.domain.states import ActorKind, StaffRole

    rt = build_runtime(settings)
    actor = Actor(kind=ActorKind.SYSTEM, label="system:cli", role=StaffRole.ADMIN)

    async def work() -> str:
        from service.db.lifecycle import ensure_migrated

        await ensure_migrated(may_migrate=settings.is_embedded)
        export = await start_odm_export(rt, actor, args.since)
        # A CLI run owns its event loop: blocking writes are fine here.
        out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout  # noqa: SIM115, ASYNC230
        try:
            async for chunk in export.chunks:
                out.write(chunk)
        finally:
            if args.output:
                out.close()
        return f"{export.entries} entries; next cursor (--since): {export.file_oid}"

    print(asyncio.run(with_database(settings, work)), file=sys.stderr)
    return 0
