"""The line-based installer: numbered menus and prompts for dumb terminals, pipes and --text.

It edits the same Choices with the same validators as the Textual screens, shows the same
Plan, and asks for the same deliberate confirmation (typing the word yes).
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable, Sequence
from typing import TextIO

from installer.api import InstallerAPI, Inventory, narrowed
from installer.core.events import Event, format_human
from profiles.sizes import format_size
from ui import text_sections
from ui.choices import ENCRYPTION_MODES, IDENTITIES, Choices, any_vault_host, not_applied
from ui.layout_bar import partition_lines

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
SHOWN = 15  # a longer list is not printed whole: typing part of a name narrows it first
SECTIONS = ("Welcome", "Disks", "Encryption", "Software", "Users")
SECTION_NAMES = ("system", "storage", "encryption", "software", "users")  # interactive_sections, in step order

Ask = Callable[[str], str]


class Quit(Exception):
    """The user typed q, or input ended: nothing was changed."""


class TextInstaller:
    def __init__(self, api: InstallerAPI, choices: Choices, ask: Ask, out: TextIO, secret: Ask) -> None:
        self.api, self.choices, self._ask, self.out, self._secret = api, choices, ask, out, secret
        self.inventory: Inventory | None = None
        self.lists = api.localization()

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

    def ask_line(self, prompt: str) -> str:
        """One line as typed, indentation kept (user-data is YAML); end of input quits."""
        try:
            return self._ask(prompt).rstrip("\r\n")
        except EOFError:
            raise Quit("input ended") from None

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

    def pick(self, title: str, options: Sequence[str], current: str) -> str:
        """One of many: typing part of a name narrows the list (one match is taken), a number picks
        from the numbered list last shown, Enter keeps the current value."""
        shown = list(options)
        self.say(f"{title} {len(options)} to choose from; type part of a name to narrow the list.")
        while True:
            if len(shown) <= SHOWN:
                for i, option in enumerate(shown, start=1):
                    self.say(f"  {i}) {option}{'  (current)' if option == current else ''}")
            else:
                self.say(f"  {', '.join(shown[:SHOWN])}, ... ({len(shown) - SHOWN} more: type more of the name)")
            answer = self.ask(f"{title} [Enter keeps {current}]: ")
            if not answer:
                return current
            if answer in options:
                return answer
            if answer.isdigit() and len(shown) <= SHOWN:
                if 1 <= int(answer) <= len(shown):
                    return shown[int(answer) - 1]
                self.say(f"! type a number from 1 to {len(shown)}, part of a name, Enter, or q to quit")
                continue
            found = narrowed(options, answer)
            if len(found) == 1:
                self.say(f"{title} {found[0]}")
                return found[0]
            if not found:
                self.say(f"! nothing matches '{answer}'; type another part of the name")
                continue
            shown = found

    # -- sections --------------------------------------------------------------------------
    def welcome(self) -> None:
        c, lists = self.choices, self.lists
        c.locale = self.pick("Language:", lists.locales.values, c.locale)
        c.keyboard = self.pick("Keyboard:", lists.keymaps.values, c.keyboard)
        c.timezone = self.pick("Time zone:", lists.timezones.values, c.timezone)

    def disks(self) -> None:
        if self.inventory is None:
            self.say("Probing disks ...")
            self.inventory = self.api.probe()
            self.choices.apply_profile_disks(self.inventory)
        inventory, c = self.inventory, self.choices
        while True:
            self.say("Disks:")
            for i, d in enumerate(inventory.disks, start=1):
                self.say(f"  {i}) {d.path} {format_size(d.size)} {d.model} {d.serial}".rstrip())
                for line in partition_lines(d):
                    self.say(f"  {line}")
            answer = self.ask("Disk to ERASE and install onto (number; several, separated by spaces, for a custom "
                              "layout across disks): ").split()
            if not answer or not all(a.isdigit() and 1 <= int(a) <= len(inventory.disks) for a in answer):
                self.say(f"! type a number from 1 to {len(inventory.disks)}")
                continue
            targets = [inventory.disks[int(a) - 1].path for a in dict.fromkeys(answer)]
            keep = self.ask("Disks to keep untouched (numbers separated by spaces, Enter for none): ").split()
            c.roles = dict.fromkeys(targets, "target")
            bad = [k for k in keep if not (k.isdigit() and 1 <= int(k) <= len(inventory.disks))]
            if self.errors([f"'{k}' is not a disk number" for k in bad]):
                continue
            for k in keep:
                path = inventory.disks[int(k) - 1].path
                c.roles[path] = "keep" if path not in targets else "target"
            text_sections.layout(self, inventory)
            if not self.errors(c.check_disks(self.api, inventory)):
                return

    def encryption(self) -> None:
        c = self.choices
        while True:
            c.encryption = self.menu("Encryption:", ENCRYPTION_MODES, c.encryption)
            confirm = None
            if c.encryption == "passphrase":
                c.passphrase = self.ask("Passphrase: ", secret=True)
                confirm = self.ask("Passphrase again: ", secret=True)
            elif c.encryption != "off":
                self.vault_fields()
            if self.errors(c.check_encryption(confirm, any_vault_host=self.any_vault_host())):
                continue
            blocker = not_applied(self.api, c.encryption_section())
            if blocker:
                self.say(blocker)
            if c.encryption.startswith("keyvault") and self.ask("Test the connection now? [y/N]: ").lower() == "y":
                self.test_connection()
            return

    def any_vault_host(self) -> bool:
        return any_vault_host(self.api, self.choices)

    def vault_fields(self) -> None:
        c = self.choices
        c.vault_url = self.ask(f"Vault URL [{c.vault_url}]: ") or c.vault_url
        c.key_name = self.ask(f"Key or secret name [{c.key_name}]: ") or c.key_name
        c.identity = self.menu("Identity:", IDENTITIES, c.identity)
        if c.identity == "service-principal":
            c.tenant_id = self.ask(f"Tenant id [{c.tenant_id}]: ") or c.tenant_id
            c.client_id = self.ask(f"Client id [{c.client_id}]: ") or c.client_id
            keep = " (Enter keeps the one given)" if c.client_secret else ""
            c.client_secret = self.ask(f"Client secret, or Enter to use a certificate{keep}: ",
                                       secret=True) or c.client_secret
            if not c.client_secret:
                c.certificate_path = self.ask(f"Certificate file [{c.certificate_path}]: ") or c.certificate_path
        else:
            c.client_id = self.ask(f"User-assigned identity's client id [{c.client_id or 'none'}]: ") or c.client_id

    def test_connection(self) -> None:
        encryption = self.choices.encryption_section()
        assert encryption is not None
        result = self.api.test_vault(encryption, lambda text: self.say(f"... {text}"))
        self.say(f"{'[+]' if result.ok else '[!]'} {result.line}")

    def software(self) -> None:
        c = self.choices
        c.repository = self.ask(f"Repository URL or directory [{c.repository}]: ") or c.repository
        catalog = self.api.catalog(c.to_profile(self.inventory or Inventory()))
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
        text_sections.users(self)  # users, their keys, then cloud-init user-data

    # -- review and install ----------------------------------------------------------------
    def review(self) -> bool:
        """True when the user confirmed a plan without blockers."""
        assert self.inventory is not None
        try:
            plan = self.api.plan(self.choices.to_profile(self.inventory))
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
            code = self.api.install(self.choices.to_profile(self.inventory), sink)
        except Exception as err:  # Refused or PlanError: nothing was changed
            self.say(f"! the install did not start: {err}")
            return EXIT_BAD_INPUT
        if code == 0:
            self.say("Installed. The profile of this install is in the installed system at "
                     "/var/log/azl-installer/profile.yaml.")
        else:
            self.say(f"! the install failed; full log: {self.api.latest_log() or 'not written'}")
        return code

    def run(self) -> int:
        every = [self.welcome, self.disks, self.encryption, self.software, self.users]
        # interactive_sections: only the sections the profile left open are asked; the rest is as written.
        shown = [(title, step) for title, step, section in zip(SECTIONS, every, SECTION_NAMES, strict=True)
                 if self.choices.interactive(section)]
        try:
            self.say("Azure Linux 4.0 installer (line mode). Type q at any prompt to quit; nothing is "
                     "written before you type yes at the end.")
            for _title, step in shown:
                step()
            if self.inventory is None:  # storage came from the profile: the plan still needs the disks
                self.inventory = self.api.probe()
            while not self.review():
                if not shown:
                    raise Quit("the profile leaves no section to change")
                names = ", ".join(f"{i}) {title}" for i, (title, _step) in enumerate(shown, start=1))
                answer = self.ask(f"Change which section? {names}: ")
                if answer.isdigit() and 1 <= int(answer) <= len(shown):
                    shown[int(answer) - 1][1]()
        except Quit as why:
            self.say(f"Quit ({why}); nothing was changed.")
            return EXIT_BAD_INPUT
        return self.install()


def run_text(api: InstallerAPI, choices: Choices, *, ask: Ask | None = None, out: TextIO | None = None,
             secret: Ask | None = None) -> int:
    ask = ask or input
    if secret is None:
        secret = getpass.getpass if sys.stdin.isatty() else ask
    return TextInstaller(api, choices, ask, out or sys.stdout, secret).run()
