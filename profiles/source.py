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


def parse(text: str, filename: str) -> Document:
    try:
        node = yaml.compose(text, Loader=_UniqueKeyLoader)
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
    doc.data = _convert(node, (), doc)
    return doc


def _pos(node: yaml.Node) -> Position:
    return Position(node.start_mark.line + 1, node.start_mark.column + 1)


def _convert(node: yaml.Node, path: KeyPath, doc: Document) -> Any:
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node)
            if isinstance(key_node, (yaml.MappingNode, yaml.SequenceNode)):
                raise SourceError("a key must be a plain word, not a list or mapping", _pos(key_node))
            key = str(key)
            if key in result:
                raise SourceError(f"key '{key}' appears twice in the same mapping", _pos(key_node))
            child = (*path, key)
            # Point at the key itself: that is where a user looks for "key.path: message".
            doc.positions[child] = _pos(key_node)
            result[key] = _convert(value_node, child, doc)
        return result
    if isinstance(node, yaml.SequenceNode):
        items = []
        for index, item in enumerate(node.value):
            child = (*path, index)
            doc.positions[child] = _pos(item)
            items.append(_convert(item, child, doc))
        return items
    return _scalar(node)


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
