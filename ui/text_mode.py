"""The line-based installer: numbered menus and prompts for dumb terminals, pipes and --text.

It edits the same Choices with the same validators as the Textual screens, shows the same
Plan, and asks for the same deliberate confirmation (typing the word yes).
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable, Sequence
from typing import TextIO

from installer.events import Event, format_human
from profiles.sizes import format_size
from storage.inventory import Inventory
from ui.choices import ENCRYPTION_MODES, FILESYSTEMS, FIRMWARES, KEYBOARDS, LANGUAGES, TIMEZONES, Choices
from ui.engine import Engine
from ui.screens.disks import partition_lines
from ui.screens.encryption import NOT_APPLIED

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
SECTIONS = ("Welcome", "Disks", "Encryption", "Software", "Users")

Ask = Callable[[str], str]


class Quit(Exception):
    """The user typed q, or input ended: nothing was changed."""


class TextInstaller:
    def __init__(self, engine: Engine, choices: Choices, ask: Ask, out: TextIO, secret: Ask) -> None:
        self.engine, self.choices, self._ask, self.out, self._secret = engine, choices, ask, out, secret
        self.inventory: Inventory | None = None

    def say(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    def ask(self, prompt: str, secret: bool = False) -> str:
        try:
            answer = (self._secret if secret else self._ask)(prompt)
        except EOFError:
            raise Quit("input ended") from None
        if answer.strip().lower() == "q":
            raise Quit("quit")
        return answer.strip()

    def errors(self, errors: Sequence[str]) -> bool:
        for e in errors:
            self.say(f"! {e}")
        return bool(errors)

    def menu(self, title: str, options: Sequence[str], current: str) -> str:
        self.say(title)
        for i, option in enumerate(options, start=1):
            self.say(f"  {i}) {option}{'  (current)' if option == current else ''}")
        while True:
            answer = self.ask(f"Number [Enter keeps {current}]: ")
            if not answer:
                return current
            if answer.isdigit() and 1 <= int(answer) <= len(options):
                return options[int(answer) - 1]
            self.say(f"! type a number from 1 to {len(options)}, Enter, or q to quit")

    # -- sections --------------------------------------------------------------------------
    def welcome(self) -> None:
        c = self.choices
        c.locale = self.menu("Language:", LANGUAGES, c.locale)
        c.keyboard = self.menu("Keyboard:", KEYBOARDS, c.keyboard)
        c.timezone = self.menu("Time zone:", TIMEZONES, c.timezone)

    def disks(self) -> None:
        if self.inventory is None:
            self.say("Probing disks ...")
            self.inventory = self.engine.probe()
            self.choices.apply_profile_disks(self.inventory)
        inventory, c = self.inventory, self.choices
        while True:
            self.say("Disks:")
            for i, d in enumerate(inventory.disks, start=1):
                self.say(f"  {i}) {d.path} {format_size(d.size)} {d.model} {d.serial}".rstrip())
                for line in partition_lines(d):
                    self.say(f"  {line}")
            answer = self.ask("Disk to ERASE and install onto (number): ")
            if not (answer.isdigit() and 1 <= int(answer) <= len(inventory.disks)):
                self.say(f"! type a number from 1 to {len(inventory.disks)}")
                continue
            target = inventory.disks[int(answer) - 1].path
            keep = self.ask("Disks to keep untouched (numbers separated by spaces, Enter for none): ").split()
            c.roles = {target: "target"}
            bad = [k for k in keep if not (k.isdigit() and 1 <= int(k) <= len(inventory.disks))]
            if self.errors([f"'{k}' is not a disk number" for k in bad]):
                continue
            for k in keep:
                path = inventory.disks[int(k) - 1].path
                c.roles[path] = "keep" if path != target else "target"
            if not c.explicit_layout():
                c.filesystem = self.menu("Root filesystem:", FILESYSTEMS, c.filesystem)  # type: ignore[assignment]
                c.firmware = self.menu("Firmware:", FIRMWARES, c.firmware)  # type: ignore[assignment]
            if not self.errors(c.check_disks(inventory)):
                return

    def encryption(self) -> None:
        c = self.choices
        self.say(NOT_APPLIED)
        while True:
            c.encryption = self.menu("Encryption:", ENCRYPTION_MODES, c.encryption)
            confirm = None
            if c.encryption == "passphrase":
                c.passphrase = self.ask("Passphrase: ", secret=True)
                confirm = self.ask("Passphrase again: ", secret=True)
            elif c.encryption != "off":
                c.vault_url = self.ask(f"Vault URL [{c.vault_url}]: ") or c.vault_url
                c.key_name = self.ask(f"Key or secret name [{c.key_name}]: ") or c.key_name
            if not self.errors(c.check_encryption(confirm)):
                return

    def software(self) -> None:
        c = self.choices
        c.repository = self.ask(f"Repository URL or directory [{c.repository}]: ") or c.repository
        catalog = self.engine.catalog(c.to_profile(self.inventory or Inventory()))
        while True:
            envs = [e.id for e in catalog.environments]
            c.environment = self.menu("Environment:", [*envs, "none"], c.environment or "none")
            c.environment = None if c.environment == "none" else c.environment
            groups = [g.id for g in catalog.groups if g.uservisible]
            self.say("Extra groups: " + ", ".join(groups))
            answer = self.ask(f"Groups (names separated by spaces) [{' '.join(c.groups)}]: ")
            c.groups = answer.split() if answer else c.groups
            unknown = [g for g in c.groups if catalog.group(g) is None]
            c.packages = self.ask(f"Extra packages [{c.packages}]: ") or c.packages
            if not self.errors([f"unknown group '{g}'" for g in unknown] + c.check_software()):
                return

    def users(self) -> None:
        c = self.choices
        while True:
            c.hostname = self.ask(f"Host name [{c.hostname}]: ") or c.hostname
            c.username = self.ask(f"Admin user [{c.username}]: ") or c.username
            keep = " (Enter keeps the profile's)" if c.password_hash else ""
            password = self.ask(f"Password{keep}: ", secret=True)
            confirm = self.ask("Password again: ", secret=True) if password else ""
            c.ssh_key = self.ask("SSH public key [Enter for none]: ") or c.ssh_key
            if not self.errors(c.check_users(password, confirm)):
                c.set_password(password)
                return

    # -- review and install ----------------------------------------------------------------
    def review(self) -> bool:
        """True when the user confirmed a plan without blockers."""
        assert self.inventory is not None
        try:
            plan = self.engine.plan(self.choices.to_profile(self.inventory))
        except Exception as err:  # PlanError: shown, and the user picks a section to change
            self.say(f"! the plan failed: {err}")
            return False
        self.say(plan.render())
        if plan.blockers:
            self.say("! this plan cannot be installed: change the sections named above")
            return False
        disks = ", ".join(t.disk.path for t in plan.storage.targets)
        answer = self.ask(f"\nThis ERASES {disks}. Type 'yes' to install, or Enter to change something: ")
        return answer == "yes"

    def install(self) -> int:
        assert self.inventory is not None

        def sink(event: Event) -> None:
            if event.level != "debug":
                self.say(format_human(event))

        try:
            code = self.engine.install(self.choices.to_profile(self.inventory), sink)
        except Exception as err:  # Refused or PlanError: nothing was changed
            self.say(f"! the install did not start: {err}")
            return EXIT_BAD_INPUT
        if code == 0:
            self.say("Installed. The profile of this install is in the installed system at "
                     "/var/log/azl-installer/profile.yaml.")
        else:
            self.say(f"! the install failed; full log: {self.engine.log_path() or 'not written'}")
        return code

    def run(self) -> int:
        steps = [self.welcome, self.disks, self.encryption, self.software, self.users]
        try:
            self.say("Azure Linux 4.0 installer (line mode). Type q at any prompt to quit; nothing is "
                     "written before you type yes at the end.")
            for step in steps:
                step()
            while not self.review():
                names = ", ".join(f"{i}) {n}" for i, n in enumerate(SECTIONS, start=1))
                answer = self.ask(f"Change which section? {names}: ")
                if answer.isdigit() and 1 <= int(answer) <= len(steps):
                    steps[int(answer) - 1]()
        except Quit as why:
            self.say(f"Quit ({why}); nothing was changed.")
            return EXIT_BAD_INPUT
        return self.install()


def run_text(engine: Engine, choices: Choices, *, ask: Ask | None = None, out: TextIO | None = None,
             secret: Ask | None = None) -> int:
    ask = ask or input
    if secret is None:
        secret = getpass.getpass if sys.stdin.isatty() else ask
    return TextInstaller(engine, choices, ask, out or sys.stdout, secret).run()
