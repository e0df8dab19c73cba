"""Generated profiles and kickstarts through validation and the plan: a result or one line per problem, never a
traceback, each input in bounded time and memory (issue 14).

Four generators: the example profiles (profiles/examples, iso/profiles) mangled as data (values replaced by
hostile ones or by others of their kind, keys dropped or added, sections taken from another example) and as
text (YAML syntax, odd characters, lines moved), and sample kickstarts mangled line by line (commands, sections,
%include and %ksappend) and word by word (options, sizes, huge numbers, other scripts, NUL and non-UTF-8
bytes). A profile that validates is planned on a machine that fits its disk rules or on a recorded one
(installer/data/machines). Each runs QUICK examples in the inner loop and HEAVY examples, 10,000 inputs in all,
under the heavy marker (`make test`), in CHUNKS tests each so that `-n 2` shares them out evenly.

What may come out: a Profile and a Plan, or ProfileError, PlanError or KickstartError whose every problem (and
every plan blocker and kickstart warning) is one line that says something. Anything else fails the test, and
Hypothesis prints the input. Each input is held to CPU_LIMIT seconds of this process's CPU (other processes'
load does not count), to HANG_LIMIT seconds of wall time (then it is stopped), and to INPUT_MEMORY of growth of
the process's high-water mark; a whole test to RUN_MEMORY.
"""

from __future__ import annotations

import math
import resource
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from installer.dryrun import load_machine, shipped_machines
from installer.payload.dnf4 import Dnf4
from installer.payload.dnf5 import Dnf5
from installer.plan import Plan, PlanError, make_plan, plan_json
from profiles import Profile, ProfileError, json_schema, profile_from_text
from profiles.kickstart.convert import convert_kickstart
from profiles.kickstart.errors import KickstartError
from profiles.kickstart.supported import COMMANDS, SECTIONS
from profiles.sizes import GiB
from storage.inventory import DiskInfo, Inventory

T = TypeVar("T")
REPO = Path(__file__).parents[2]
QUICK = {"structure": 120, "text": 120, "kickstart-lines": 40, "kickstart-words": 40}
# Kickstarts cost about 50 ms each (pykickstart builds its parsers for every file), profiles 5 to 15 ms.
HEAVY = {"structure": 4500, "text": 3500, "kickstart-lines": 1000, "kickstart-words": 1000}
CHUNKS = 2
CPU_LIMIT = 2.0  # seconds; the most seen is 0.55 s (a process's first kickstart: pykickstart sets itself up)
HANG_LIMIT = 30.0  # seconds of wall time before an input counts as hung
INPUT_MEMORY = 64 * 2**20  # bytes; the most seen is 1 MiB (an input's peak allocation is at most about 5 MiB)
RUN_MEMORY = 256 * 2**20  # bytes over a test; 2250 inputs raise it by about 30 MiB (what Hypothesis keeps of each)

PROFILE_FILES = sorted((REPO / "profiles" / "examples").glob("*.yaml")) + sorted((REPO / "iso" / "profiles")
                                                                                 .glob("*.yaml"))
DOCUMENTS = [yaml.safe_load(p.read_text()) for p in PROFILE_FILES]
TEXTS = [p.read_text() for p in PROFILE_FILES]


def test_the_heavy_run_is_ten_thousand_inputs() -> None:
    assert sum(n // CHUNKS * CHUNKS for n in HEAVY.values()) >= 10_000 and all(HEAVY[k] > QUICK[k] for k in QUICK)


# -- the outcome and its bounds -----------------------------------------------------------------------------------


def one_line(text: str) -> bool:
    """Something to read, with no line break of any kind (splitlines also breaks at \\r, \\x0b, \\x85, \\u2028 ...)."""
    return bool(text.strip()) and text.splitlines() == [text]


@dataclass(frozen=True)
class Machine:
    """What the plan is made for: a shipped recorded machine by name, or (None) one with a disk per disk rule of
    the profile (targets and leave_alone), each as its rule asks, and these kernel features."""

    recorded: str | None
    device_mapper: bool | None = None
    tpm2: bool | None = None
    dnf: str | None = None
    host_paths: bool = False  # True: this host installs, as `azl-installer plan` (the profile's paths looked up)

    def plan(self, profile: Profile) -> Plan:
        if self.recorded is not None:
            machine = RECORDED[self.recorded]
            return make_plan(profile, machine.inventory, kernel_filesystems=machine.facts.proc_filesystems(),
                             device_mapper=machine.facts.device_mapper, tpm2=machine.facts.tpm2)
        disks = []
        for i, rule in enumerate((*profile.storage.disks, *profile.storage.leave_alone)):
            size = max(64 * GiB, rule.min_size or 0)
            size = min(size, rule.max_size) if rule.max_size is not None else size
            disks.append(DiskInfo(rule.path or f"/dev/fuzz{i}", size, model=rule.model or "",
                                  serial=rule.serial or f"FUZZ-{i}"))
        return make_plan(profile, Inventory(tuple(disks)), device_mapper=self.device_mapper, tpm2=self.tpm2,
                         dnf=self.dnf, host_paths=self.host_paths)


RECORDED = {name: load_machine(name) for name in shipped_machines()}
flags = st.sampled_from([None, True, False])
fits = st.builds(Machine, st.none(), flags, flags, st.sampled_from([None, Dnf4.name, Dnf5.name]), st.booleans())
# Mostly a machine that fits (Hypothesis favours the first choice): on a recorded one most profiles stop at
# their disk rules.
machines = st.one_of(fits, st.builds(Machine, st.sampled_from(sorted(RECORDED))))


def planned(profile: Profile, machine: Machine) -> str:
    try:
        plan = machine.plan(profile)
    except PlanError as err:
        assert one_line(str(err)) and one_line(err.problem.message), repr(str(err))
        return "plan refused"
    assert all(one_line(str(b)) for b in plan.blockers), [str(b) for b in plan.blockers]
    plan.render()
    plan_json(plan)
    return "plan blocked" if plan.blockers else "plan"


def validated(text: str) -> Profile | None:
    try:
        return profile_from_text(text, "fuzz.yaml")
    except ProfileError as err:
        assert err.issues, "a ProfileError without issues"
        for issue in err.issues:
            assert one_line(str(issue)) and one_line(issue.message) and issue.filename == "fuzz.yaml", repr(str(issue))
        return None


def _rss() -> int:
    """The most memory this process has held so far, in bytes (Linux counts ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class Hung(Exception):
    """An input ran for HANG_LIMIT seconds: raised in it, so Hypothesis reports it as any failure."""


def _hung(_signal: int, _frame: object) -> None:
    raise Hung(f"one input ran for {HANG_LIMIT:.0f} s")


@dataclass
class Bounds:
    """Each input's CPU time and how far it raised the process's high-water mark, checked as it ends; the inputs
    counted, so a run proves its size, and their outcomes, to show how many got as far as a plan."""

    inputs: int = 0
    slowest: float = 0.0  # seconds of CPU
    greediest: int = 0  # bytes one input raised the high-water mark by
    start_rss: int = field(default_factory=_rss)
    outcomes: Counter[str] = field(default_factory=Counter)

    def run(self, work: Callable[[], str]) -> None:
        self.inputs += 1
        rss, cpu = _rss(), time.process_time()
        signal.setitimer(signal.ITIMER_REAL, HANG_LIMIT)
        try:
            self.outcomes[work()] += 1
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        cpu, rss = time.process_time() - cpu, _rss() - rss
        self.slowest, self.greediest = max(self.slowest, cpu), max(self.greediest, rss)
        assert cpu < CPU_LIMIT, f"one input took {cpu:.2f} s of CPU"
        assert rss < INPUT_MEMORY, f"one input raised the high-water mark by {rss >> 20} MiB"

    def check(self, examples: int) -> None:
        """At the end of a test that passed: it ran as many inputs as it asked for, and all of them together
        raised the high-water mark by less than RUN_MEMORY (what they keep: a leak). Printed with what they
        came to (pytest -rP shows it)."""
        grown = _rss() - self.start_rss
        print(f"{self.inputs} inputs; the slowest took {self.slowest:.3f} s of CPU; the high-water mark is "
              f"{_rss() >> 20} MiB, {grown >> 20} MiB above the start, at most {self.greediest >> 20} MiB of it from "
              f"one input; {dict(sorted(self.outcomes.items()))}")
        assert self.inputs >= examples, f"{self.inputs} inputs run, {examples} asked for"
        assert grown < RUN_MEMORY, f"{self.inputs} inputs raised the high-water mark by {grown >> 20} MiB"


@pytest.fixture
def bounds() -> Iterator[Bounds]:
    previous = signal.signal(signal.SIGALRM, _hung)
    try:
        yield Bounds()
    finally:
        signal.signal(signal.SIGALRM, previous)


def sizes(name: str) -> pytest.MarkDecorator:
    """QUICK examples in the inner loop; HEAVY ones, in CHUNKS tests, under the heavy marker."""
    heavy = [pytest.param(HEAVY[name] // CHUNKS, id=f"heavy{i}", marks=pytest.mark.heavy) for i in range(CHUNKS)]
    return pytest.mark.parametrize("examples", [pytest.param(QUICK[name], id="quick"), *heavy])


def fuzz(examples: int) -> settings:
    return settings(max_examples=examples, deadline=None, database=None, derandomize=False, print_blob=False,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])


# -- profiles ------------------------------------------------------------------------------------------------------


SCHEMA = json_schema(Profile)


def _schema_keys(schema: Any) -> Iterator[str]:
    if isinstance(schema, dict):
        yield from schema.get("properties", {})
        for value in schema.values():
            yield from _schema_keys(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from _schema_keys(value)


def _subtrees(data: Any) -> Iterator[Any]:
    yield data
    for value in data.values() if isinstance(data, dict) else data if isinstance(data, list) else ():
        yield from _subtrees(value)


KEYS = sorted(set(_schema_keys(SCHEMA)))
TEXTS_HOSTILE = [
    "", " ", "\n", "a\nb", "a\rb", "\x00", "\x1b[2J", "\u2028", "\u0085", "\ufeff", "é", "日本語", "😀" * 5, "x" * 5000,
    "/", "/boot", "/boot/efi", "/home", "/var", "//", "/..", "../etc", "relative", "swap", "none", "vfat",
    "biosboot", "btrfs", "ext4", "xfs", "luks2", "argon2id", "uefi", "bios", "both", "/dev/vda", "/dev/nvme0n1",
    "/dev/disk/by-id/x", "$6$a$b", "*", "!", "root", "wheel", "file:///srv", "http://[::1", "~", "null", "yes", "on",
    "0x10", "0o7", "1_000", ".inf", "-.nan", "{", "[", "&a", "*a", "!!python/object", "%", "-", "a b", "a,b",
    "/dev/vd\x00a", "/srv/re\x00po", "file:///srv/\x00", "/dev/vda\n", "https://x/\u2028", "-rf", "--help",
    "/srv/" + "x" * 300, "file:///srv/" + "x" * 300, "/dev/" + "x" * 300, "/etc/passwd/x", "/proc/self/mem",
]
SIZES = [0, -1, 1, 2**64, 2**64 + 1, 10**30, 10**400, "0", "1", "512MiB", "1.5TiB", "9" * 400, "9" * 400 + "MiB",
         "9" * 30 + "TiB", "1" + "0" * 320 + ".5B", "1e309", "inf", "nan", " 4GiB ", "4 gib", "0.0001B", "1\nMiB",
         "-1MiB", "1.MiB", ".5G", "\u0663GiB", "²GiB", "1 PiB", "1KB", True, 1.5, math.inf, None]
NUMBERS = [0, -1, 1, 2, 7, 100, 4095, 65536, 2**31, 2**63, 10**400, -(10**400), True, 1.5, math.nan, "1", None]
BOOLEANS = [True, False, "yes", "true", 1, 0, None]
HOSTILE = [*TEXTS_HOSTILE, *SIZES, *NUMBERS, *BOOLEANS, -math.inf, 1e-300, [], {}]
scalars = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=12), st.integers(-(2**70), 2**70),
                    st.floats(allow_nan=True, allow_infinity=True))
# Every value of the examples, and every hostile one, by its type: a value replaced by one of its own kind gets
# past the type checks to the checks of meaning (a mount point, a size, a disk rule or a list of partitions).
KINDS: dict[type, list[Any]] = {}
for _value in [v for d in DOCUMENTS for v in _subtrees(d)] + HOSTILE:
    KINDS.setdefault(type(_value), []).append(_value)
keys = st.sampled_from(KEYS)
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.one_of(keys, st.text(max_size=6)), inner, max_size=3)),
    max_leaves=8)
MAPPINGS = [d for d in DOCUMENTS if isinstance(d, dict)]


def pick(draw: st.DrawFn, items: Sequence[T]) -> T:
    """One of items (a list made while drawing: sampled_from would build a strategy each time)."""
    return items[draw(st.integers(0, len(items) - 1))]


def _schema_of(path: tuple[Any, ...]) -> dict[str, Any] | None:
    """The JSON schema of the value at path (a size as {"size": True}), None where the profile has no such key."""
    node: dict[str, Any] | None = SCHEMA
    for part in (*path, None):
        while node is not None and "anyOf" in node:
            options = [o for o in node["anyOf"] if o.get("type") != "null"]
            node = {"size": True} if any("pattern" in o for o in options) else options[0]
        if node is None or part is None:
            return node
        node = node.get("items") if isinstance(part, int) else node.get("properties", {}).get(part)
    return node


def _hostile_for(draw: st.DrawFn, schema: dict[str, Any]) -> Any:
    """A value that a key of this schema could be mistaken for: sizes for sizes, near misses for choices."""
    if schema.get("size"):
        return pick(draw, SIZES)
    if "enum" in schema:
        word = str(pick(draw, schema["enum"]))
        return pick(draw, [word, word.upper(), f" {word}", f"{word}\n", f"{word}x", word[:-1], None, 1])
    kind = schema.get("type")
    if kind == "integer":
        return pick(draw, NUMBERS)
    if kind == "boolean":
        return pick(draw, BOOLEANS)
    if kind == "string":
        return pick(draw, [*TEXTS_HOSTILE, *KINDS[str]])
    if kind == "array":
        return pick(draw, [[], [None], *KINDS[list]])
    return pick(draw, [{}, None, *KINDS[dict]])


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(data, dict):
        for key, value in data.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += _paths(value, (*prefix, index))
    return found


def _at(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        data = data[part]
    return data


def _put(data: Any, path: tuple[Any, ...], value: Any) -> Any:
    """A copy of data with value at path; the rest shared."""
    if not path:
        return value
    head, *rest = path
    copy = dict(data) if isinstance(data, dict) else list(data)
    copy[head] = _put(data[head], tuple(rest), value)
    return copy


@st.composite
def mangled_documents(draw: st.DrawFn) -> Any:
    """An example profile with one to four changes: any key the model has set, at its place, to a value its
    kind could be mistaken for; a value replaced by anything or by another of its kind; a key dropped, list
    items repeated, a section taken from another example. About a third still validate, and get planned."""
    doc = pick(draw, DOCUMENTS)
    for _ in range(draw(st.integers(1, 4))):
        paths, how = _paths(doc), draw(st.integers(0, 7))
        known = [(p, schema) for p in paths if how <= 2 and isinstance(_at(doc, p), dict)
                 and "properties" in (schema := _schema_of(p) or {})]
        if known:  # a mapping the model knows: one of its keys set (or added) to a value it could be mistaken for
            path, schema = pick(draw, known)
            key = pick(draw, sorted(schema["properties"]))
            doc = _put(doc, path, {**_at(doc, path), key: _hostile_for(draw, _schema_of((*path, key)) or {})})
            continue
        path = pick(draw, paths)
        target = _at(doc, path)
        if how == 3:
            doc = _put(doc, path, draw(values))
        elif how == 4:
            doc = _put(doc, path, pick(draw, KINDS[type(target)]))
        elif how == 5 and path:
            parent, key = _at(doc, path[:-1]), path[-1]
            doc = _put(doc, path[:-1], {k: v for k, v in parent.items() if k != key} if isinstance(parent, dict)
                       else parent[:key] + parent[key + 1:])
        elif how == 6 and isinstance(target, list) and target:
            doc = _put(doc, path, target + target[:draw(st.integers(1, 3))])
        elif how == 7 and isinstance(doc, dict):
            section = pick(draw, sorted(other := pick(draw, MAPPINGS)))
            doc = {**doc, section: other[section]}
    return doc


def _profile_and_plan(text: str, machine: Machine) -> str:
    profile = validated(text)
    return "profile rejected" if profile is None else planned(profile, machine)


# libyaml when there (the dump is the test's own work, not what is tested); the product reads with PyYAML's own.
DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


@sizes("structure")
def test_structurally_mangled_profiles(examples: int, bounds: Bounds) -> None:
    @fuzz(examples)
    @given(mangled_documents(), st.booleans(), machines)
    def run(doc: Any, unicode: bool, machine: Machine) -> None:
        text = yaml.dump(doc, Dumper=DUMPER, allow_unicode=unicode, sort_keys=False)
        bounds.run(lambda: _profile_and_plan(text, machine))

    run()
    bounds.check(examples)


LINE_PIECES = ["\n", "\r\n", "\t", "  ", ": ", "- ", "[", "]", "{", "}", "&a ", "*a", "!!str ", "!!binary ", "|",
               ">", "'", '"', "#", "%YAML 1.1\n", "---\n", "...\n", "? ", "\x00", "\ufeff", "\x85", "\u2028", "é",
               "😀", "9" * 40, "-1", "1e309", "~", "<<: *a\n", "@", "`", "\\", "\x1b", "\x7f", "\x0b"]
pieces = st.one_of(st.sampled_from(LINE_PIECES), st.text(max_size=6),
                   st.lists(st.sampled_from(LINE_PIECES), max_size=4).map("".join))
indents = st.sampled_from(["", " ", "    ", "\t"])


@st.composite
def mangled_texts(draw: st.DrawFn) -> str:
    """An example profile's text with one to three changes: a piece of YAML syntax, odd characters or
    random text spliced in (replacing up to 30 characters), lines repeated or dropped, re-indented, swapped."""
    text = pick(draw, TEXTS)
    for _ in range(draw(st.integers(1, 3))):
        lines = text.splitlines(keepends=True) or [""]
        how, at = draw(st.integers(0, 4)), draw(st.integers(0, len(lines) - 1))
        if how <= 1:
            where = draw(st.integers(0, len(text)))
            text = text[:where] + draw(pieces) + text[where + draw(st.integers(0, 30)):]
            continue
        if how == 2:
            lines[at:at + draw(st.integers(0, 2))] = [pick(draw, lines)] * draw(st.integers(0, 3))
        elif how == 3:
            lines[at] = draw(indents) + lines[at].lstrip(" ")
        else:
            other = draw(st.integers(0, len(lines) - 1))
            lines[at], lines[other] = lines[other], lines[at]
        text = "".join(lines)
    return text


@sizes("text")
def test_textually_mangled_profiles(examples: int, bounds: Bounds) -> None:
    @fuzz(examples)
    @given(mangled_texts(), machines)
    def run(text: str, machine: Machine) -> None:
        bounds.run(lambda: _profile_and_plan(text, machine))

    run()
    bounds.check(examples)


# -- kickstarts ----------------------------------------------------------------------------------------------------

DISKS = "zerombr\nclearpart --all --initlabel\nignoredisk --only-use=vda\n"
PAYLOAD = "url --url=file:///srv/repo\n%packages --nocore\nkernel\n%end\n"
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGk8Fq9m3fW2xYhSRC9Uuj7TqZxQ4t6c3cVYbdU2n4Qf ks@example"
KICKSTARTS = [
    DISKS + "autopart --type=plain --noswap --nohome\n" + PAYLOAD,
    DISKS + "autopart --type=plain\n" + PAYLOAD + "lang de_DE.UTF-8\nkeyboard --vckeymap=de-latin1\n"
    "timezone Europe/Berlin --utc\ntimesource --ntp-server=ntp1.example.com\nselinux --permissive\n"
    "services --enabled=sshd --disabled=kdump\nreboot\n",
    DISKS + "autopart --type=btrfs --encrypted --passphrase=s3cret --luks-version=luks2 --pbkdf=argon2id "
    "--pbkdf-memory=65536 --pbkdf-time=1500 --cipher=aes-xts-plain64\n" + PAYLOAD,
    DISKS + "autopart --type=thinp --noswap --nohome\n" + PAYLOAD + "rootpw --plaintext r00t-pass\n"
    "group --name=ops --gid=3000\nuser --name=kate --groups=ops,wheel --password=k4te --uid=1500 --gid=1500 "
    f"--shell=/bin/zsh --gecos='Kate K' --homedir=/srv/kate\nsshkey --username=kate \"{KEY}\"\n",
    DISKS + "autopart --type=lvm --fstype=ext4\nurl --mirrorlist=https://mirrors.example.com/list\n"
    "repo --name=extra --baseurl=https://example.com/extra --cost=50 --includepkgs=a,b --excludepkgs=c --install\n"
    'bootloader --append="console=ttyS0 quiet" --timeout=7 --location=mbr\n'
    "%packages --excludedocs --ignoremissing --excludeWeakdeps\n@^server\n@standard\nkernel\n-firewalld\n%end\n",
    PAYLOAD + "zerombr\nclearpart --drives=vda,vdb --initlabel\nreqpart --add-boot\npart swap --size=512 --ondisk=vdb\n"
    "part btrfs.01 --size=4096 --grow --ondisk=vda\nbtrfs none --label=fedora btrfs.01\n"
    "btrfs / --subvol --name=root fedora\nbtrfs /home --subvol --name=home fedora\n"
    "part /srv --fstype=ext4 --size=1024 --ondisk=vdb --label=srv --encrypted --passphrase=pw\n",
    PAYLOAD + "zerombr\nclearpart --all --initlabel --drives=vda,vdb\n"
    "part biosboot --fstype=biosboot --size=1 --ondisk=vda\npart biosboot --fstype=biosboot --size=1 --ondisk=vdb\n"
    "part raid.01 --size=512 --ondisk=vda\npart raid.02 --size=512 --ondisk=vdb\n"
    "raid /boot --level=1 --device=boot --fstype=ext4 --label=boot raid.01 raid.02\n"
    "part raid.11 --size=2048 --grow --ondisk=vda\npart raid.12 --size=2048 --grow --ondisk=vdb\n"
    "raid pv.01 --level=1 --device=pv0 --encrypted --passphrase=s3cret raid.11 raid.12\nvolgroup sys pv.01\n"
    "logvol / --vgname=sys --name=root --size=2048 --grow --fstype=ext4\n"
    "logvol /var --vgname=sys --name=var --percent=20\nlogvol swap --vgname=sys --name=swap --size=256\n",
    DISKS + "part /boot/efi --fstype=efi --size=200\npart /boot --size=512\npart pv.01 --size=1000 --grow\n"
    "volgroup sys pv.01\nlogvol / --vgname=sys --name=root --size=2000\n"
    "logvol none --vgname=sys --name=pool --thinpool --size=1000 --grow\n"
    "logvol /home --vgname=sys --name=home --thin --poolname=pool --size=5000 --encrypted --passphrase=x\n" + PAYLOAD,
    DISKS + "autopart --type=plain\nliveimg --url=file:///srv/root.tar.gz --checksum=" + "ab" * 32 + "\n"
    "firewall --enabled --service=ssh,http --port=8080:tcp,53:udp --trust=eth1 --remove-service=cockpit\n"
    "network --device=eth0 --bootproto=static --ip=10.0.0.5 --netmask=255.255.255.0 --gateway=10.0.0.1 "
    "--nameserver=1.1.1.1 --ipv6=2001:db8::5/64 --ipv6gateway=2001:db8::1 --mtu=9000 --hostname=vm1.example.com\n"
    "network --device=bond0 --bondslaves=eth1,eth2 --bondopts=mode=802.3ad,miimon=100 --bootproto=dhcp\n"
    "network --device=eth3 --vlanid=100 --interfacename=vlan100 --bootproto=dhcp --noipv6\n",
    DISKS + "autopart --type=plain\n" + PAYLOAD + "%pre --interpreter=/bin/bash\necho pre\n%end\n%pre-install\n"
    "echo pi\n%end\n%post --nochroot --erroronfail --log=/mnt/sysimage/root/post.log\necho $ANA_INSTALL_PATH\n%end\n"
    "%post --interpreter=/usr/bin/python3\nprint('in')\n%end\n%onerror\necho failed\n%end\nskipx\neula --agreed\n",
    "%include parts.ks\n%ksappend more.ks\n" + PAYLOAD + "bootloader --password=grub-secret\n",
]
BIG = 2 * INPUT_MEMORY
INCLUDED = {"parts.ks": DISKS + "autopart --type=plain\n", "more.ks": "selinux --disabled\n",
            "self.ks": "%include self.ks\n", "bad.ks": "bogus\n\0\n"}
KS_LINES = [
    *sorted({line for ks in (*KICKSTARTS, *INCLUDED.values()) for line in ks.splitlines()}),
    "%include parts.ks", "%include self.ks", "%include bad.ks", "%ksappend more.ks", "%include missing.ks",
    "%include big.ks", "%ksappend big.ks",
    "%include http://example.com/x.ks", "%include", "%include a b", "%include " + "x" * 300,
    "%ksappend /etc/hostname", "%pre", "%post",
    "%packages", "%end", "%traceback", "%addon com_redhat_kdump", "%onerror", "%pre-install --log=/tmp/x",
    "vnc", "sshpw --username=a b", "halt", "poweroff", "shutdown", "text", "cmdline", "graphical",
    "firstboot --disable", "logging --level=info", "mediacheck", "auth --useshadow", "install", "timeout --x",
    "part", "part /", "logvol /", "raid /", "volgroup", "btrfs", "network", "user", "rootpw", "repo",
    "ignoredisk --drives=sdb", "clearpart --none",
    "clearpart --list=vda1", "autopart", "reqpart", "part / --size=1 --ondisk=vdz", "part / --recommended",
    "part swap --recommended", "timezone --nontp UTC", "timesource --ntp-disable", "network --bootproto=dhcp",
    "network --hostname=x", "network --device=52:54:00:12:34:56 --bootproto=dhcp --onboot=off",
    "bootloader --iscrypted --password=grub.pbkdf2.sha512.10000.AA.BB", "rootpw --lock", "user --name=root",
]
WORDS = [
    "--size=0", "--size=-1", "--size=99999999999999999999", "--size=1e309", "--size=nan", "--size=0x10", "--size=",
    "--size", "--grow", "--percent=0", "--percent=101", "--percent=-5", "--percent=99999999999999999999",
    "--pbkdf-memory=99999999999999999999", "--pbkdf-time=-1", "--timeout=99999999999999999999", "--mtu=0",
    "--mtu=4294967296", "--uid=-1", "--gid=99999999999999999999", "--vlanid=9999", "--cost=-1", "--level=7",
    "--level=raid1", "--pesize=0", "--device=", "--name=", "--name=a/b", "--name=..", "--vgname=", "--ondisk=",
    "--ondisk=vda", "--ondisk=/dev/vdb", "--fstype=ntfs", "--fstype=efi", "--fstype=swap", "--fstype=biosboot",
    "--luks-version=luks1", "--passphrase=", "--encrypted", "--label=" + "l" * 200, "--type=btrfs", "--type=lvm",
    "--type=thinp", "--type=zfs", "--drives=", "--drives=vda,vda", "--only-use=", "--all", "--initlabel", "--thin",
    "--thinpool", "--poolname=none", "--subvol", "--noswap", "--nohome", "--nolvm", "--bootproto=static",
    "--ip=999.1.1.1", "--netmask=255.0.255.0", "--ipv6=::1/200", "--nameserver=", "--hostname=" + "h" * 300,
    "--device=eth0", "--activate", "--interpreter=", "--log=", "--erroronfail", "--nochroot", "--enabled=",
    "--disabled=sshd", "--port=99999:tcp", "--port=a:b:c", "--service=", "--url=", "--url=ftp://x", "--mirrorlist=",
    "--checksum=zz", "--append=", "--location=none", "--timeout=-1", "--password=", "--iscrypted", "--plaintext",
    "--lock", "--groups=,,", "--shell=", "--homedir=relative", "--gecos=a:b", "--username=nobody", "--bogus",
    "--size=1 --size=2", "/", "/boot", "/boot/efi", "/home", "swap", "none", "pv.01", "raid.01", "btrfs.01", "vda",
    "vdb", "sys", "'", '"', "\\", "#", "=", "--", "-", "é", "日本", "😀", "\u2028", "\x85", "\x0b", "\x0c", "\r",
    "\t", "\x1b[31m", "\ufeff", "\x00", "9" * 400, "-" * 3, "%end", "%post", "\"a b\"", "'unterminated",
]


ks_lines, words = st.sampled_from(KS_LINES), st.sampled_from(WORDS)
option_values = st.one_of(st.sampled_from([
    "", "0", "-0", "-1", "1", "1.5", "1e3", "1e309", "inf", "nan", "9" * 30, "abc", "²", "\u0661\u0665\u0660\u0660",
    "a,b", ",", "a=b", "/", "../x", "/srv/" + "x" * 300, "file:///srv/" + "x" * 300, "none", "1GiB", "'a b'",
    '""', "é", "😀", "\\", "#", "%end", "\x0b"]),
    st.integers(-(2**80), 2**80).map(str), st.text(max_size=8))
# Every option this installer carries over, of every command and section: a value changed there gets past
# pykickstart (most of its options take any word) to the converter. Commands with more options get more turns.
OPTIONS = sorted((name, option) for name, options in (*COMMANDS.items(), *SECTIONS.items()) for option in options)
SEED_LINES = {name: sorted({line for ks in KICKSTARTS for line in ks.splitlines() if line.split(" ")[0] == name})
              for name, _ in OPTIONS}
POSITIONALS = ["/", "/boot", "swap", "none", "pv.01", "raid.01", "btrfs.01", "sys", "en_US.UTF-8", "UTC", "x", "'a b'"]
not_text = st.sampled_from([b"\0", b"\x80", b"\xff\xfe", b"\r\n", b"\xc3"])


@st.composite
def kickstart_lines(draw: st.DrawFn) -> str:
    """A sample kickstart with one to six lines added (from the samples, or commands, sections and includes
    this installer refuses), dropped, repeated or moved."""
    lines = pick(draw, KICKSTARTS).splitlines()
    for _ in range(draw(st.integers(1, 6))):
        how, at = draw(st.integers(0, 4)), draw(st.integers(0, len(lines)))
        if how <= 1:
            lines.insert(at, draw(ks_lines))
        elif lines and how == 2:
            del lines[min(at, len(lines) - 1)]
        elif lines and how == 3:
            lines.insert(at, pick(draw, lines))
        elif lines:
            lines.insert(at, lines.pop(draw(st.integers(0, len(lines) - 1))))
    return "\n".join(lines) + "\n" * draw(st.integers(0, 2))


def _with_option(draw: st.DrawFn, lines: list[str]) -> list[str]:
    """One option of a command or section set to an odd value: on a line of the kickstart that has it, else on a
    sample line of that command (or the bare command) added at the end."""
    name, option = pick(draw, OPTIONS)
    word = f"{option}={draw(option_values)}"
    here = [i for i, line in enumerate(lines) if line.split(" ")[0] == name]
    if here:
        at = pick(draw, here)
    else:
        at = len(lines)
        bare = name + (f" {pick(draw, POSITIONALS)}" if draw(st.booleans()) else "")
        lines = [*lines, pick(draw, SEED_LINES[name] or [bare])]
        lines += ["echo", "%end"] if name.startswith("%") else []
    words = [w for w in lines[at].split(" ") if w.split("=", 1)[0] != option]
    lines[at] = " ".join([*words, word])
    return lines


@st.composite
def kickstart_words(draw: st.DrawFn) -> bytes:
    """A sample kickstart with one to three changes: an option this installer carries over given an odd value
    (any number, text, nothing); words after a command replaced, added, dropped or extended. One in ten gets
    bytes that are not UTF-8 text."""
    lines = pick(draw, KICKSTARTS).splitlines()
    for _ in range(draw(st.integers(1, 3))):
        how = draw(st.integers(0, 6))
        if how <= 2:
            lines = _with_option(draw, lines)
            continue
        at = draw(st.integers(0, len(lines) - 1))
        line = lines[at].split(" ")
        spot = draw(st.integers(min(1, len(line) - 1), len(line) - 1))  # the options, when there are
        if how == 3:
            line[spot] = draw(words)
        elif how == 4:
            line.insert(spot + 1, draw(words))
        elif how == 5 and len(line) > 1:
            del line[spot]
        else:
            line[spot] += draw(st.text(max_size=4))
        lines[at] = " ".join(line)
    data = ("\n".join(lines) + "\n").encode()
    if draw(st.integers(0, 9)) == 0:  # NUL, a lone continuation byte, CR LF, a cut-off sequence
        where = draw(st.integers(0, len(data)))
        data = data[:where] + draw(not_text) + data[where:]
    return data


def _kickstart_and_plan(path: Path, data: bytes, machine: Machine) -> str:
    path.write_bytes(data)
    try:
        conversion = convert_kickstart(path, "ks.cfg", hasher=lambda password: "$6$fuzz$" + "x" * 20)
    except KickstartError as err:
        assert err.problems, "a KickstartError without problems"
        for finding in (*err.problems, *err.warnings):
            assert one_line(str(finding)) and one_line(finding.message), repr(str(finding))
        return "kickstart rejected"
    assert all(one_line(str(w)) for w in conversion.warnings), [str(w) for w in conversion.warnings]
    return planned(conversion.profile, machine)


def _kickstart_dir(tmp_path: Path) -> Path:
    """Where the kickstart is written, beside the files its %include and %ksappend lines may name: big.ks is
    BIG bytes long (sparse: no disk is used), far more than a kickstart may be."""
    for name, text in INCLUDED.items():
        (tmp_path / name).write_text(text)
    with (tmp_path / "big.ks").open("wb") as big:
        big.truncate(BIG)
    return tmp_path / "ks.cfg"


@sizes("kickstart-lines")
def test_kickstarts_with_lines_mangled(examples: int, bounds: Bounds, tmp_path: Path) -> None:
    path = _kickstart_dir(tmp_path)

    @fuzz(examples)
    @given(kickstart_lines(), machines)
    def run(text: str, machine: Machine) -> None:
        bounds.run(lambda: _kickstart_and_plan(path, text.encode(), machine))

    run()
    bounds.check(examples)


@sizes("kickstart-words")
def test_kickstarts_with_words_and_bytes_mangled(examples: int, bounds: Bounds, tmp_path: Path) -> None:
    path = _kickstart_dir(tmp_path)

    @fuzz(examples)
    @given(kickstart_words(), machines)
    def run(data: bytes, machine: Machine) -> None:
        bounds.run(lambda: _kickstart_and_plan(path, data, machine))

    run()
    bounds.check(examples)
