"""Starting the interactive installer: the API (real, image, or dry-run), then the Textual UI or the line mode.

run_interactive() chooses the real API (this machine, or a disk image file) or a dry-run on a
recorded machine (--dry-run --machine FILE), and the Textual UI or the line-based mode (dumb
terminal, stdin not a terminal, or --text).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from installer.api import InstallerAPI, OptionsError, add_dry_run_arguments, open_api, wait_for_install_end
from profiles import ProfileError, load_profile
from profiles.model import Profile
from profiles.sizes import SizeError, parse_size
from ui.choices import Choices
from ui.text_mode import run_text

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The interactive installer's options (for `python -m ui`; cli.py has its own with the same names)."""
    parser.add_argument("--profile", type=Path, help="prefill the choices from this profile")
    parser.add_argument("--target-image", type=Path, metavar="IMG",
                        help="install into this disk image file; the machine's disks are never offered")
    parser.add_argument("--image-size", metavar="SIZE", help="size of the image, e.g. 8GiB (default 8GiB)")
    parser.add_argument("--text", action="store_true", help="line-based mode (numbered menus and prompts)")
    parser.add_argument("--log-dir", type=Path, metavar="DIR", help="where the install log goes")
    add_dry_run_arguments(parser)


def wants_text_mode(text: bool) -> bool:
    term = os.environ.get("TERM", "")
    return text or term in ("", "dumb", "unknown") or not sys.stdin.isatty()


def detected_settings() -> str:
    lang = os.environ.get("LANG") or "not set"
    tz = os.environ.get("TZ") or "not set"
    return f"LANG {lang}, TZ {tz}, TERM {os.environ.get('TERM', 'not set')}"


def run_interactive(args: argparse.Namespace | None, profile: Path | None, image: Path | None,
                    image_size: int | None, text: bool) -> int:
    """The interactive installer. Returns the exit code: 0 installed, 1 failed or quit mid-install, 2 quit."""
    base: Profile | None = None
    if profile is not None:
        try:
            base = load_profile(profile)
        except ProfileError as err:
            print(f"azl-installer: {err}", file=sys.stderr)
            return EXIT_BAD_INPUT
    def report(line: str) -> None:  # what a dry-run says when it ends
        print(f"azl-installer: {line}", file=sys.stderr)

    try:
        with open_api(dry_run=getattr(args, "dry_run", False), machine=getattr(args, "machine", None), image=image,
                      image_size=image_size, log_dir=getattr(args, "log_dir", None), report=report) as api:
            return _run(api, Choices.from_profile(base), text)
    except OptionsError as err:
        print(f"azl-installer: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT


def _run(api: InstallerAPI, choices: Choices, text: bool) -> int:
    facts = api.facts()
    if choices.base is None and api.image is None:
        choices.firmware = facts.firmware  # boot the way this machine boots, unless a profile says otherwise
    detected = detected_settings()
    if facts.recorded:
        detected = f"dry-run machine ({facts.firmware}, nothing is written); {detected}"
    if wants_text_mode(text):
        if facts.recorded:
            print(f"Dry run on a recorded machine: {facts.description}. Nothing is written.")
        return run_text(api, choices)
    # TERM=linux gives Rich's 16 standard colours by itself; TEXTUAL_COLOR_SYSTEM=standard forces them elsewhere.
    # Imported here on purpose: the line mode (serial consoles, dumb terminals) never loads Textual (0.2 s).
    from ui.app import InstallerApp

    try:
        outcome = InstallerApp(api, choices, detected=detected).run()
    finally:
        # An install the app stopped (a signal, Quit) has ended, its teardown included, before the program
        # does; this also holds if the app itself failed (a terminal that went away under it).
        wait_for_install_end()
    action, code = outcome if outcome is not None else ("exit", EXIT_BAD_INPUT)
    api.power(action)
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ui", description="The interactive Azure Linux installer.")
    add_arguments(parser)
    args = parser.parse_args(argv)
    size = None
    if args.target_image is not None:
        try:
            size = parse_size(args.image_size or "8GiB")
        except SizeError as err:
            parser.error(str(err))
    return run_interactive(args, args.profile, args.target_image, size, args.text)
