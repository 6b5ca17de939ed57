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
    from service.actions.edc_mapping import redcap_setup_files
    from service.app import build_runtime

    folder = Path(args.dir)
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in redcap_setup_files(build_runtime(settings)).items():
        (folder / name).write_text(text, encoding="utf-8", newline="")
        print(folder / name)
    return 0


def add_edc_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    edc = sub.add_parser("edc", help="the EDC feed: REDCap set-up, ODM export, push")
    commands = edc.add_subparsers(dest="sub", required=True)
    setup = commands.add_parser("redcap-setup", help="write the REDCap project set-up files")
    setup.add_argument("dir", help="folder to write the four CSV files into")
    setup.set_defaults(func=cmd_redcap_setup)
