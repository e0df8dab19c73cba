"""azl-installer's command line: validate, schema, plan, install, import-kickstart, `vm` (iso/vm) and `serve`.

User mistakes end in one clear line and exit 2; a failed install names the step and the
log and exits 1. Tracebacks appear only with --debug.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from installer import session
from installer.api import add_dry_run_arguments
from installer.plan import PlanError, plan_json
from profiles import Profile, ProfileError, json_schema, load_profile
from profiles.kickstart.errors import KickstartError
from profiles.sizes import SizeError, parse_size

if TYPE_CHECKING:
    from profiles.kickstart.convert import Conversion

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


class UsageError(Exception):
    """A bad argument or environment; printed as one line, exit 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="azl-installer",
        description="Install Azure Linux 4.0. Without COMMAND: the interactive installer (a terminal UI, or "
        "numbered menus with --text). Exit codes: 0 done, 1 install failed, 2 bad input; 128+N when signal N "
        "stopped the install (130 SIGINT, 129 SIGHUP, 143 SIGTERM), after the same teardown as a failure.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks and every command run")
    interactive = parser.add_argument_group("the interactive installer (no COMMAND)")
    interactive.add_argument("--profile", type=Path, help="prefill the choices from this profile")
    interactive.add_argument("--target-image", type=Path, metavar="IMG",
                             help="install into this disk image file; the machine's disks are never offered")
    interactive.add_argument("--image-size", metavar="SIZE", help="size of the image (default 8GiB)")
    interactive.add_argument("--text", action="store_true",
                             help="line-based mode (chosen by itself on dumb terminals or without a tty)")
    interactive.add_argument("--log-dir", type=Path, metavar="DIR", help="where the install log goes")
    add_dry_run_arguments(interactive)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    validate = sub.add_parser("validate", help="check profiles; print file:line:col: key.path: message")
    validate.add_argument("profiles", nargs="*", type=Path, metavar="PROFILE")
    validate.add_argument("--kickstart", action="append", default=[], type=Path, metavar="KS",
                          help="also check that this kickstart converts (repeatable)")

    convert = sub.add_parser("import-kickstart", help="convert a kickstart to a profile (KS:LINE for what cannot be)")
    convert.add_argument("kickstart", type=Path, metavar="KS")
    convert.add_argument("-o", "--output", type=Path, metavar="PROFILE",
                         help="write the profile here (mode 0600) instead of to standard output")

    sub.add_parser("schema", help="print the profile JSON Schema")

    def target_args(p: argparse.ArgumentParser) -> None:
        source = p.add_mutually_exclusive_group(required=True)
        source.add_argument("--profile", type=Path, help="the YAML profile to install")
        source.add_argument("--kickstart", type=Path, metavar="KS",
                            help="a kickstart, converted as import-kickstart does (docs/kickstart.md)")
        p.add_argument("--target-image", type=Path, metavar="IMG",
                       help="install into this disk image file instead of the machine's disks")
        p.add_argument("--image-size", metavar="SIZE", help="size of the image, e.g. 8GiB (default: 8GiB, "
                       "or the existing file's size)")

    plan = sub.add_parser("plan", help="show what an install would do, touching nothing")
    target_args(plan)
    plan.add_argument("--json", action="store_true", help="machine-readable output")

    install = sub.add_parser("install", help="install unattended from a profile")
    target_args(install)
    install.add_argument("--yes", action="store_true", help="confirm the plan without asking (erases disks!)")
    install.add_argument("--events", type=Path, metavar="FILE", help="also write events as JSON lines here")
    install.add_argument("--log-dir", type=Path, metavar="DIR",
                         help="where the install log goes (default /var/log/azl-installer)")

    # `vm` declares no options here: everything after it is left over by parse_known_args and parsed by
    # the QEMU harness's own parser (iso/vm/cli.py), which also prints `vm --help`. So building this
    # parser, and every other command, never imports the harness.
    sub.add_parser("vm", add_help=False,
                   help="for testers: install from the ISO into QEMU disks, then boot the result (vm --help)")
    sub.add_parser("serve", add_help=False,
                   help="serve profiles to network-booted machines and collect their results (serve --help)")
    return parser


def _image_size(args: argparse.Namespace) -> int | None:
    if args.target_image is None:
        if args.image_size is not None:
            raise UsageError("--image-size needs --target-image")
        return None
    problem = session.image_path_problem(args.target_image)
    if problem is not None:
        raise UsageError(f"--target-image: {problem}")
    if args.image_size is None:
        exists = args.target_image.exists()
        return args.target_image.stat().st_size if exists else parse_size("8GiB")
    try:
        size = parse_size(args.image_size)
    except SizeError as err:
        raise UsageError(f"--image-size: {err}") from None
    if size < parse_size("64MiB"):
        raise UsageError("--image-size: an image needs at least 64MiB")
    return size


def cmd_validate(args: argparse.Namespace) -> int:
    if not args.profiles and not args.kickstart:
        raise UsageError("validate: name at least one PROFILE or --kickstart KS")
    status = EXIT_OK
    for path in args.profiles:
        try:
            load_profile(path)
            print(f"{path}: ok")
        except ProfileError as err:
            print(err, file=sys.stderr)
            status = EXIT_BAD_INPUT
    for path in args.kickstart:
        try:
            _print_warnings(_convert(path).warnings)
            print(f"{path}: ok")
        except KickstartError as err:
            _print_warnings(err.warnings)
            print(err, file=sys.stderr)
            status = EXIT_BAD_INPUT
    return status


def _print_warnings(warnings: Sequence[object]) -> None:
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)


def _convert(path: Path) -> Conversion:
    # Imported here: pykickstart (and the requests it brings, about 0.1 s) loads only when a kickstart is read.
    from profiles.kickstart.convert import convert_kickstart

    return convert_kickstart(path)


def cmd_import_kickstart(args: argparse.Namespace) -> int:
    conversion = _convert(args.kickstart)
    _print_warnings(conversion.warnings)
    if args.output is None:
        sys.stdout.write(conversion.text)
        return EXIT_OK
    try:
        # 0600 from the start: the profile may hold an encryption passphrase and password hashes.
        fd = os.open(args.output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            os.fchmod(out.fileno(), 0o600)
            out.write(conversion.text)
    except OSError as err:
        raise UsageError(f"cannot write {args.output}: {err.strerror or err}") from None
    print(f"{args.kickstart}: converted to {args.output}", file=sys.stderr)
    return EXIT_OK


def _load(args: argparse.Namespace) -> Profile:
    """The profile --profile names, or the one --kickstart converts to (its warnings printed)."""
    if args.kickstart is not None:
        conversion = _convert(args.kickstart)
        _print_warnings(conversion.warnings)
        return conversion.profile
    return load_profile(args.profile)


def cmd_schema(_: argparse.Namespace) -> int:
    print(json.dumps(json_schema(Profile), indent=2))
    return EXIT_OK


def cmd_plan(args: argparse.Namespace) -> int:
    profile = _load(args)
    plan = session.plan_only(profile, args.target_image, _image_size(args))
    print(plan_json(plan) if args.json else plan.render())
    return EXIT_BAD_INPUT if plan.blockers else EXIT_OK


def cmd_install(args: argparse.Namespace) -> int:
    profile = _load(args)
    if profile.interactive_sections:
        # Those sections were left for a person to decide (often the disks): never decide them silently.
        raise UsageError(f"{args.profile} sets interactive_sections: run the interactive installer "
                         f"('azl-installer --profile {args.profile}'), or remove the key to install unattended")
    size = _image_size(args)
    if os.geteuid() != 0:
        raise UsageError("install must run as root (it partitions disks and mounts filesystems)")
    options = session.InstallOptions(
        yes=args.yes, events_file=args.events, log_dir=args.log_dir, image=args.target_image,
        image_size=size, debug=args.debug,
    )
    # While the install runs, its own handlers stop it (installer/core/signals.py) and then put these back.
    # After it has ended only its last lines are left to print: a signal then must not end the program by
    # its default action (status -15) as if the install had never reported. A Python function, not SIG_IGN,
    # which every command started meanwhile would inherit (and then ignore the SIGTERM that stops it).
    for number in session.STOPPING_SIGNALS:
        signal.signal(number, _after_the_install)
    return session.install(profile, options)


def _after_the_install(_signum: int, _frame: object) -> None:
    """The install has ended (or is about to start): the program ends by itself in a moment."""


def cmd_vm(args: argparse.Namespace) -> int:
    # Imported here and only here: the QEMU harness belongs to the tester's tools in iso/, and
    # validate, plan and install must neither load it nor depend on it being shipped.
    from iso.vm.cli import main as vm_main

    return vm_main(args.rest, debug=args.debug)


def cmd_serve(args: argparse.Namespace) -> int:
    try:
        from iso.serve import main as serve_main  # as for vm: only this command loads it
    except ModuleNotFoundError:  # the live system and the RPM ship only the launcher of iso/
        raise UsageError("serve is an operator's tool of the source tree (iso/serve.py); this installation "
                         "does not have it") from None

    return serve_main(args.rest)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    if rest and args.command not in ("vm", "serve"):  # what parse_args would say; only these take the rest
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    args.rest = rest
    commands = {"validate": cmd_validate, "schema": cmd_schema, "plan": cmd_plan, "install": cmd_install,
                "import-kickstart": cmd_import_kickstart, "vm": cmd_vm, "serve": cmd_serve}
    try:
        if args.command is None:
            from ui.start import run_interactive  # imported here: the UI loads only when it runs

            return run_interactive(args, args.profile, args.target_image, _image_size(args), args.text)
        return commands[args.command](args)
    except ProfileError as err:
        print(err, file=sys.stderr)
        return EXIT_BAD_INPUT
    except KickstartError as err:
        _print_warnings(err.warnings)
        print(err, file=sys.stderr)
        return EXIT_BAD_INPUT
    except (UsageError, PlanError, session.Refused) as err:
        print(f"azl-installer: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("azl-installer: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `azl-installer plan ... | head`: the reader has gone, as it meant to
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # Python's own flush at exit must not fail
        return 128 + signal.SIGPIPE
    except Exception as err:
        if args.debug:
            raise
        print(f"azl-installer: internal error: {err} (run with --debug for details)", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
