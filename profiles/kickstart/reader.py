"""Reading a kickstart: local %include and %ksappend resolved, parsed by pykickstart as Anaconda parses it.

pykickstart would fetch an included URL itself and report lines of the flattened text. So the
includes are resolved here first, into one text with a map from each of its lines back to the file
and line it came from; then pykickstart's parser (the Fedora release Azure Linux 4.0 is built from)
reads that text, and every command line and section header it dispatches is recorded with its
words, so the converter can refuse each option it does not carry over, naming its line.
"""

from __future__ import annotations

import re
import shlex
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pykickstart.errors import KickstartError, KickstartParseError, KickstartParseWarning
from pykickstart.parser import KickstartParser
from pykickstart.version import F43, makeVersion

from profiles.kickstart.errors import Origin

KS_VERSION = F43  # Azure Linux 4.0 is built from Fedora 43: its Anaconda reads kickstarts as F43
MAX_INCLUDE_DEPTH = 16  # deeper than any real kickstart; stops an include loop
MAX_SIZE = 4 * 1024 * 1024  # bytes of kickstart text in all, includes counted


@dataclass(frozen=True)
class Seen:
    """A command line or section header as pykickstart dispatched it."""

    origin: Origin
    words: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.words[0]


@dataclass
class Kickstart:
    """A parsed kickstart: pykickstart's handler, and what was seen where."""

    handler: Any  # pykickstart's version handler (untyped library)
    commands: list[Seen] = field(default_factory=list)
    sections: list[Seen] = field(default_factory=list)
    lines: list[Origin] = field(default_factory=list)  # flattened line number - 1 -> origin
    deprecations: list[tuple[Origin, str]] = field(default_factory=list)  # pykickstart's warnings
    errors: list[tuple[Origin, str]] = field(default_factory=list)  # lines pykickstart refused

    def origin(self, lineno: int | None) -> Origin:
        if lineno is None or not 1 <= lineno <= len(self.lines):
            return self.lines[0] if self.lines else Origin("<kickstart>", 1)
        return self.lines[lineno - 1]


class ReadError(Exception):
    """Problems that stop the reading, each with its origin."""

    def __init__(self, problems: list[tuple[Origin, str]]) -> None:
        self.problems = problems
        super().__init__("\n".join(f"{o}: {m}" for o, m in problems))


def _is_directive(line: str, word: str) -> bool:
    return line.lstrip().startswith(word) and (line.split(maxsplit=1) or [""])[0] == word


def flatten(path: Path, shown: str, depth: int = 0, budget: list[int] | None = None) -> tuple[list[str],
                                                                                              list[Origin]]:
    """The kickstart's lines with every %include and %ksappend of a local file put in their place."""
    budget = budget if budget is not None else [MAX_SIZE]
    try:
        with path.open("rb") as file:
            data = file.read(budget[0] + 1)  # no more than is left: a disk image included by mistake is not read whole
    except OSError as err:
        raise ReadError([(Origin(shown, 0), f"cannot read the kickstart: {err.strerror or err}")]) from None
    budget[0] -= len(data)
    if budget[0] < 0:
        raise ReadError([(Origin(shown, 0), f"the kickstart and its includes exceed {MAX_SIZE // 1024**2} MiB")])
    if b"\0" in data:
        raise ReadError([(Origin(shown, 1 + data[:data.index(b'\0')].count(b'\n')), "NUL byte: not a text file")])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ReadError([(Origin(shown, 1 + data[:err.start].count(b"\n")), "not UTF-8 text")]) from None
    lines: list[str] = []
    origins: list[Origin] = []
    # Split where pykickstart splits (it breaks at \x0b, \x85, \u2028 ... too), each line ended by one "\n":
    # a line kept with its own break and another "\n" would be two lines to pykickstart, and every line after
    # it would be reported one line late.
    for number, line in enumerate(text.splitlines(), start=1):
        here = Origin(shown, number)
        directive = next((d for d in ("%include", "%ksappend") if _is_directive(line, d)), None)
        if directive is None:
            lines.append(line + "\n")
            origins.append(here)
            continue
        words = _split(line, here)
        if len(words) != 2:
            raise ReadError([(here, f"{directive} takes exactly one file")])
        name = words[1]
        if "://" in name:
            raise ReadError([(here, f"{directive} {name}: only local files are read (fetch it and name the file)")])
        if depth >= MAX_INCLUDE_DEPTH:
            raise ReadError([(here, f"{directive} nested deeper than {MAX_INCLUDE_DEPTH} levels (an include loop?)")])
        included = Path(name) if name.startswith("/") else path.parent / name
        try:
            is_file = included.is_file()
        except OSError as err:  # is_file() says False for a missing file, raises for a name too long
            raise ReadError([(here, f"{directive} {name}: {err.strerror}")]) from None
        if not is_file:
            raise ReadError([(here, f"{directive} {name}: no such file (a file a %pre script writes cannot be "
                              "read before the install: write its content into the kickstart)")])
        more, more_origins = flatten(included, name, depth + 1, budget)
        lines += more
        origins += more_origins
    return lines, origins


def _split(line: str, origin: Origin) -> list[str]:
    try:
        return shlex.split(line, comments=True)
    except ValueError as err:
        raise ReadError([(origin, f"cannot split the line: {err}")]) from None


class _RecordingParser(KickstartParser):  # type: ignore[misc]  # pykickstart has no type hints
    """pykickstart's parser, recording each command and section header, collecting every error."""

    def __init__(self, handler: Any, seen: Kickstart, lines: list[str]) -> None:
        self.seen = seen
        self.lines = lines  # the text it reads, line by line
        self.header = 0  # the line number of the section header read last
        self.errors: list[tuple[int | None, str]] = []
        super().__init__(handler, followIncludes=False, errorsAreFatal=False, unknownSectionIsFatal=False)

    def handleCommand(self, lineno: int, args: list[str]) -> Any:
        self.seen.commands.append(Seen(self.seen.origin(lineno), tuple(args)))
        return super().handleCommand(lineno, args)

    def registerSection(self, obj: Any) -> None:
        original: Callable[..., Any] = obj.handleHeader
        body: Callable[[str], Any] = obj.handleLine

        def header(lineno: int, args: list[str], *rest: Any, **kw: Any) -> Any:
            self.seen.sections.append(Seen(self.seen.origin(lineno), tuple(args)))
            self.header = lineno
            return original(lineno, args, *rest, **kw)

        def line(text: str) -> Any:
            try:
                return body(text)
            except (IndexError, ValueError):  # pykickstart slips on some lines ('-' alone in %packages)
                # It does not say which: the first line of the section with this text, the first it failed on.
                at = self.lines.index(text, self.header) + 1
                raise KickstartParseError(f"{obj.sectionOpen}: cannot read '{text.strip()}'", lineno=at) from None

        obj.handleHeader, obj.handleLine = header, line
        super().registerSection(obj)

    def _tryFunc(self, fn: Callable[[], Any]) -> None:
        # pykickstart prints errors when they are not fatal; here each is kept with its line.
        try:
            fn()
        except KickstartError as err:
            self.errors.append((getattr(err, "lineno", None), _message(err)))


SECRET_OPTIONS = ("--password", "--passphrase", "--plaintext", "--iscrypted")


def secret_words(words: tuple[str, ...]) -> tuple[str, ...]:
    """The words of a command line that may be a password: the values of its password options, and
    rootpw's own argument. pykickstart's messages quote them when the line is malformed."""
    found: list[str] = []
    for i, word in enumerate(words[1:], start=1):
        option, has_value, value = word.partition("=")
        if option in SECRET_OPTIONS:
            if has_value:
                found.append(value)
            elif i + 1 < len(words) and not words[i + 1].startswith("-"):
                found.append(words[i + 1])
        elif words[0] == "rootpw" and not word.startswith("-"):
            found.append(word)
    return tuple(w for w in found if w)


def scrub(message: str, secrets: tuple[str, ...]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        message = message.replace(secret, "***")
    return message


def _message(err: KickstartError) -> str:
    text = str(getattr(err, "value", "") or err).strip()
    # pykickstart's own text starts "The following problem occurred on line N of the kickstart file:"
    return text.split("\n\n", 1)[-1].strip() or "cannot parse this line"


def read_kickstart(path: Path, shown: str | None = None) -> Kickstart:
    """Parse the kickstart at path; what pykickstart refused is in .errors. ReadError: a file cannot be read."""
    lines, origins = flatten(path, shown or str(path))
    result = Kickstart(handler=makeVersion(KS_VERSION), lines=origins)
    parser = _RecordingParser(result.handler, result, lines)
    deprecated: list[tuple[int | None, str]] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            parser.readKickstartFromString("".join(lines))
        except (KickstartError, ValueError) as err:  # an unterminated section, an unbalanced quote
            parser.errors.append((getattr(err, "lineno", None), _message(err) if isinstance(err, KickstartError)
                                  else str(err)))
    for warning in caught:
        text = str(warning.message).strip()
        if isinstance(warning.message, KickstartParseWarning) or "deprecated" in text.lower():
            # pykickstart names the line only in its text ("... on line 27: ..."), of the flattened kickstart.
            line = re.search(r"\bon line (\d+)", text)
            text = re.sub(r"^Ignoring deprecated \w+ on line \d+:\s*", "", " ".join(text.split()))
            deprecated.append((int(line[1]) if line else None, text))
    secrets = {seen.origin: secret_words(seen.words) for seen in result.commands}
    result.errors = [(result.origin(n), scrub(m, secrets.get(result.origin(n), ()))) for n, m in parser.errors]
    result.deprecations = [(result.origin(n), m) for n, m in deprecated]
    return result


__all__ = ["Kickstart", "ReadError", "Seen", "read_kickstart"]
