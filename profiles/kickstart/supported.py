"""Which kickstart commands, options and sections this installer carries over, and which it only notes.

Anything not listed is refused with its line: a kickstart must never install something other
than what it says. Each option is listed with every spelling pykickstart accepts for it.
"""

from __future__ import annotations

from profiles.kickstart.draft import Draft
from profiles.kickstart.reader import Kickstart, Seen

ALIASES = {"partition": "part"}

# command -> the options converted; a command with an empty set takes none (or only positional words).
COMMANDS: dict[str, frozenset[str]] = {name: frozenset(options.split()) for name, options in {
    "reboot": "", "poweroff": "", "halt": "", "shutdown": "",
    "text": "--non-interactive", "cmdline": "", "graphical": "--non-interactive",
    "lang": "--addsupport",
    "keyboard": "--vckeymap --xlayouts --switch",
    "timezone": "--utc --isUtc --nontp --ntpservers",
    "timesource": "--ntp-server --ntp-pool --ntp-disable --nts",
    "rootpw": "--iscrypted --plaintext --lock",
    "user": "--name --groups --password --iscrypted --plaintext --uid --gid --shell --gecos --homedir --lock",
    "sshkey": "--username",
    "group": "--name --gid",
    "selinux": "--enforcing --permissive --disabled",
    "services": "--enabled --disabled",
    "firewall": "--enabled --enable --disabled --disable --service --port --trust --remove-service "
                "--use-system-defaults --ssh --smtp --http --ftp --telnet",
    "network": "--bootproto --device --ip --netmask --gateway --nameserver --ipv6 --ipv6gateway --hostname "
               "--onboot --activate --no-activate --noipv4 --noipv6 --mtu --bondslaves --bondopts --vlanid "
               "--interfacename",
    "url": "--url --mirrorlist --metalink",
    "repo": "--name --baseurl --mirrorlist --metalink --cost --includepkgs --excludepkgs --install",
    "liveimg": "--url --checksum",
    "bootloader": "--append --timeout --location --boot-drive --password --iscrypted",
    "zerombr": "",
    "clearpart": "--all --drives --initlabel --list",
    "ignoredisk": "--drives --only-use",
    "autopart": "--type --encrypted --passphrase --luks-version --pbkdf --pbkdf-memory --pbkdf-time --cipher "
                "--nohome --noswap --fstype --nolvm",
    "reqpart": "--add-boot",
    "part": "--size --grow --fstype --ondisk --ondrive --label --asprimary --encrypted --passphrase "
            "--luks-version --pbkdf --pbkdf-memory --pbkdf-time --cipher --recommended",
    "btrfs": "--subvol --name --label",
    "raid": "--level --device --fstype --label --encrypted --passphrase --luks-version --pbkdf --pbkdf-memory "
            "--pbkdf-time --cipher",
    "volgroup": "--pesize",
    "logvol": "--vgname --name --size --grow --percent --fstype --label --recommended --encrypted --passphrase "
              "--luks-version --pbkdf --pbkdf-memory --pbkdf-time --cipher --thinpool --thin --poolname",
}.items()}

# Harmless here: noted as a warning, nothing converted.
HARMLESS = {
    "skipx": "there is no X server to configure",
    "firstboot": "there is no first-boot wizard (only --disable is harmless)",
    "eula": "there is no license screen",
    "logging": "the installer logs to /var/log/azl-installer",
    "mediacheck": "the ISO is not checked",
    "zipl": "s390 only",
}
HARMLESS_OPTIONS = {"firstboot": frozenset({"--disable", "--disabled"}), "eula": frozenset({"--agreed"}),
                    "logging": frozenset({"--level"})}

SECTIONS = {"%packages": frozenset(["--nocore", "--excludedocs", "--ignoremissing", "--instLangs", "--inst-langs",
                                    "--excludeWeakdeps", "--exclude-weakdeps"]),
            "%pre": frozenset(["--interpreter", "--erroronfail", "--log"]),
            "%pre-install": frozenset(["--interpreter", "--erroronfail", "--log"]),
            "%post": frozenset(["--nochroot", "--interpreter", "--erroronfail", "--log"]),
            "%onerror": frozenset(["--interpreter", "--erroronfail", "--log"])}



def options_of(words: tuple[str, ...]) -> list[str]:
    return [w.split("=", 1)[0] for w in words[1:] if w.startswith("--")]


def check_supported(ks: Kickstart, draft: Draft) -> None:
    """Refuse every command, option and section not carried over, each with its line; warn for harmless ones."""
    refused_by_pykickstart = {origin for origin, _ in ks.errors}
    for seen in ks.commands:
        if seen.origin in refused_by_pykickstart:
            continue  # one line, one message: pykickstart's own says more (unknown, removed, bad value)
        name = ALIASES.get(seen.name, seen.name)
        if name in COMMANDS:
            _options(seen, COMMANDS[name], draft)
        elif name in HARMLESS:
            allowed = HARMLESS_OPTIONS.get(name, frozenset())
            bad = [o for o in options_of(seen.words) if o not in allowed]
            if bad:
                draft.unsupported_option(seen, bad[0])
            else:
                draft.warn(seen.origin, f"'{seen.name}' ignored: {HARMLESS[name]}")
        else:
            draft.refuse(seen.origin, f"unsupported kickstart command '{seen.name}'")
    for seen in ks.sections:
        section = SECTIONS.get(seen.name)
        if section is None:
            draft.refuse(seen.origin, f"unsupported kickstart section '{seen.name}'")
        else:
            _options(seen, section, draft)


def _options(seen: Seen, allowed: frozenset[str], draft: Draft) -> None:
    for option in options_of(seen.words):
        if option not in allowed:
            draft.unsupported_option(seen, option)
