"""The profile being built from a kickstart: plain data, where each key came from, and what was refused."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from profiles.kickstart.errors import Finding, Origin
from profiles.kickstart.reader import Seen

KeyPath = tuple[str | int, ...]


def one_line(message: str) -> str:
    """Messages quote the kickstart's own words, which may hold a line break (a value ending in a backslash,
    which pykickstart joins with the next line) or other control characters: shown escaped, so each finding
    stays one line (found by tests/unit/test_fuzz_inputs.py: 'network --mtu=\\' gave two)."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in message)


@dataclass
class Draft:
    data: dict[str, Any] = field(default_factory=dict)
    origins: dict[KeyPath, list[str]] = field(default_factory=dict)  # key path -> "ks.cfg:12 rootpw", ...
    problems: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)

    def _note(self, path: KeyPath, origin: Origin, command: str) -> None:
        notes = self.origins.setdefault(path, [])
        note = f"{origin} {command}"
        if note not in notes:
            notes.append(note)

    def _parent(self, path: KeyPath) -> dict[str, Any]:
        node = self.data
        for key in path[:-1]:
            assert isinstance(key, str)
            node = node.setdefault(key, {})
        return node

    def set(self, path: KeyPath, value: Any, origin: Origin, command: str) -> None:
        key = path[-1]
        assert isinstance(key, str)
        self._parent(path)[key] = value
        self._note(path, origin, command)

    def append(self, path: KeyPath, item: Any, origin: Origin, command: str) -> int:
        """Add item to the list at path; returns its index (origins are kept per item)."""
        key = path[-1]
        assert isinstance(key, str)
        items = self._parent(path).setdefault(key, [])
        items.append(item)
        self._note((*path, len(items) - 1), origin, command)
        return len(items) - 1

    def get(self, path: KeyPath, default: Any = None) -> Any:
        node: Any = self.data
        for key in path:
            if not isinstance(node, dict) or key not in node:
                return default
            node = node[key]
        return node

    def refuse(self, origin: Origin, message: str) -> None:
        self.problems.append(Finding(origin, one_line(message)))

    def warn(self, origin: Origin, message: str) -> None:
        self.warnings.append(Finding(origin, one_line(message)))

    def unsupported_option(self, seen: Seen, option: str, why: str = "") -> None:
        self.refuse(seen.origin, f"unsupported kickstart option '{option}' of '{seen.name}'" + (f": {why}" if why
                                                                                               else ""))
