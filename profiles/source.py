"""YAML documents read with the position of every key and value kept.

PyYAML's composer gives nodes with start marks; this turns them into plain Python values
and a map from key path (tuple of keys and indices) to (line, column), 1-based, so that
every validation message can point at the line a user must fix.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

KeyPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Position:
    line: int
    column: int


@dataclass
class Document:
    """A parsed YAML document: plain values plus where each key path was written."""

    filename: str
    data: Any
    positions: dict[KeyPath, Position] = field(default_factory=dict)

    def position(self, path: KeyPath) -> Position:
        """The position of path, or of its nearest written ancestor (for missing keys)."""
        probe = path
        while probe:
            if probe in self.positions:
                return self.positions[probe]
            probe = probe[:-1]
        return self.positions.get((), Position(1, 1))


class SourceError(ValueError):
    """The text is not a YAML mapping; carries the position for the message."""

    def __init__(self, message: str, position: Position) -> None:
        super().__init__(message)
        self.position = position


class _UniqueKeyLoader(yaml.SafeLoader):
    pass


# Bounds on what a document may expand to: YAML aliases let a few hundred bytes stand for billions of values
# (each alias is a full copy here, with its own positions), and an alias inside its own anchor for a loop.
MAX_VALUES = 20_000  # a real profile has a few hundred; user-data and scripts are one value each
MAX_DEPTH = 64


class _Budget:
    """Counts the values a document expands to and the nodes being expanded (a node met again inside
    itself is a loop)."""

    def __init__(self) -> None:
        self.values = 0
        self.open: set[int] = set()

    def enter(self, node: yaml.Node, path: KeyPath) -> None:
        self.values += 1
        if self.values > MAX_VALUES:
            raise SourceError(f"the document expands to more than {MAX_VALUES} values: YAML aliases (*name) "
                              "repeat what they point to; write the values out", _pos(node))
        if len(path) > MAX_DEPTH:
            raise SourceError(f"values nested more than {MAX_DEPTH} levels deep", _pos(node))
        if id(node) in self.open:
            raise SourceError("a YAML alias (*name) points into the value that contains it: a loop", _pos(node))


def parse(text: str, filename: str) -> Document:
    try:
        node = yaml.compose(text, Loader=_UniqueKeyLoader)
    except yaml.reader.ReaderError as err:  # a character YAML never allows (a NUL byte: a binary file?)
        line = text.count("\n", 0, err.position) + 1
        column = err.position - text.rfind("\n", 0, err.position)
        raise SourceError(f"not valid YAML: character {err.character!r} is not allowed (a binary file?)",
                          Position(line, column)) from None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        pos = Position(mark.line + 1, mark.column + 1) if mark else Position(1, 1)
        raise SourceError(f"not valid YAML: {err.problem or err.context}", pos) from None
    except yaml.YAMLError as err:
        raise SourceError(f"not valid YAML: {err}", Position(1, 1)) from None
    doc = Document(filename, None)
    if node is None:
        raise SourceError("the profile is empty", Position(1, 1))
    doc.positions[()] = _pos(node)
    doc.data = _convert(node, (), doc, _Budget())
    return doc


def _pos(node: yaml.Node) -> Position:
    return Position(node.start_mark.line + 1, node.start_mark.column + 1)


def _convert(node: yaml.Node, path: KeyPath, doc: Document, budget: _Budget) -> Any:
    budget.enter(node, path)
    if isinstance(node, yaml.MappingNode):
        budget.open.add(id(node))
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if isinstance(key_node, (yaml.MappingNode, yaml.SequenceNode)):
                raise SourceError("a key must be a plain word, not a list or mapping", _pos(key_node))
            key = str(_scalar(key_node))
            if key in result:
                raise SourceError(f"key '{_capped(key)}' appears twice in the same mapping", _pos(key_node))
            child = (*path, key)
            # Point at the key itself: that is where a user looks for "key.path: message".
            doc.positions[child] = _pos(key_node)
            result[key] = _convert(value_node, child, doc, budget)
        budget.open.discard(id(node))
        return result
    if isinstance(node, yaml.SequenceNode):
        budget.open.add(id(node))
        items = []
        for index, item in enumerate(node.value):
            child = (*path, index)
            doc.positions[child] = _pos(item)
            items.append(_convert(item, child, doc, budget))
        budget.open.discard(id(node))
        return items
    return _scalar(node)


def _capped(text: str, limit: int = 60) -> str:
    """A value quoted in a message, cut to a readable length, on one line."""
    return one_line(text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)")


# Every character str.splitlines() breaks at, written as its escape.
_LINE_BREAKS = {ord(c): repr(c)[1:-1] for c in "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"}


def one_line(message: str) -> str:
    """message with its line breaks escaped ('a\\nb'): problems are one line each, and a message that quotes
    a value (a script, a name read from YAML or a kickstart) would otherwise break into several."""
    return message.translate(_LINE_BREAKS)


def _scalar(node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        constructor = yaml.SafeLoader(stream="")
        try:
            return constructor.construct_object(node, deep=True)  # type: ignore[no-untyped-call]
        except yaml.constructor.ConstructorError as err:
            raise SourceError(f"cannot read value: {err.problem}", _pos(node)) from None
        finally:
            constructor.dispose()  # type: ignore[no-untyped-call]
    return None
