"""Turn plain YAML values into the frozen Profile dataclasses, and back.

The conversion is driven by the dataclasses' type hints, so the model in profiles/model.py
is the single source for loading, the JSON Schema and saving. Problems are collected (not
raised one at a time) so a user sees every mistake in one run.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Union, get_args, get_origin

from profiles.sizes import SizeError, format_size, parse_size
from profiles.source import KeyPath, one_line


def path_text(path: KeyPath) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return one_line(text) or "(top)"  # an unknown key may hold a line break


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a profile, or one reason a plan cannot be carried out, as data: where (the key
    path into the profile; empty for the machine itself), what (one line that names no other place), and
    the other places it involves (related: the partition that already has that mount point, ...). Front
    ends place it and its related paths by path, naming them as they like (the CLI by key path, the UI by
    device); nobody parses the text."""

    path: KeyPath
    message: str
    related: tuple[KeyPath, ...] = ()  # other places of the same conflict, shown as "(also at ...)"

    def __post_init__(self) -> None:
        object.__setattr__(self, "message", one_line(self.message))  # it may quote a value with line breaks

    @property
    def section(self) -> str:
        """The profile's top-level section it is about ('storage', 'encryption', ...), '' for the machine."""
        return str(self.path[0]) if self.path else ""

    @property
    def key(self) -> str:
        return path_text(self.path) if self.path else ""

    def text(self, name: Callable[[KeyPath], str] = path_text) -> str:
        """The message with the related places named by name (key paths unless a front end names them)."""
        also = f" (also at {', '.join(name(p) for p in self.related)})" if self.related else ""
        return self.message + also

    def __str__(self) -> str:
        return f"{self.key}: {self.text()}" if self.path else self.text()


def _type_name(tp: Any) -> str:
    if dataclasses.is_dataclass(tp):
        return "a mapping"
    if tp is bool:
        return "true or false"
    if tp is int:
        return "a whole number"
    if tp is str:
        return "a string"
    if get_origin(tp) is tuple:
        return "a list"
    return str(tp)


def _hints(cls: type[Any]) -> dict[str, Any]:
    return typing.get_type_hints(cls)


class Converter:
    """Builds dataclass instances from plain data, recording every problem found."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def fail(self, path: KeyPath, message: str) -> None:
        self.problems.append(Problem(path, message))

    def build(self, cls: type[Any], data: Any, path: KeyPath = ()) -> Any:
        return self._value(cls, data, path, {})

    def _value(self, tp: Any, data: Any, path: KeyPath, meta: typing.Mapping[str, Any]) -> Any:
        origin = get_origin(tp)
        if origin in (Union, types.UnionType):
            options = [a for a in get_args(tp) if a is not type(None)]
            if data is None:
                return None
            return self._value(options[0], data, path, meta)
        if origin is Literal:
            allowed = get_args(tp)
            if data not in allowed:
                choices = ", ".join(str(a) for a in allowed)
                hint = difflib.get_close_matches(str(data), [str(a) for a in allowed], n=1)
                extra = f" (did you mean '{hint[0]}'?)" if hint else ""
                self.fail(path, f"must be one of {choices}; got '{data}'{extra}")
                return allowed[0]
            return data
        if origin is tuple:
            if not isinstance(data, list):
                self.fail(path, f"expected a list, got {_describe(data)}")
                return ()
            item_type = get_args(tp)[0]
            return tuple(self._value(item_type, item, (*path, i), meta) for i, item in enumerate(data))
        if dataclasses.is_dataclass(tp):
            return self._dataclass(typing.cast(type[Any], tp), data, path)
        if tp is bool:
            if not isinstance(data, bool):
                self.fail(path, f"expected true or false, got {_describe(data)}")
                return False
            return data
        if tp is int:
            return self._int(data, path, bool(meta.get("size")))
        if tp is str:
            if isinstance(data, bool) or not isinstance(data, (str, int, float)):
                self.fail(path, f"expected a string, got {_describe(data)}")
                return ""
            if "\0" in str(data):  # YAML's "\0" escape: the os and subprocess refuse it in a path or an argument
                self.fail(path, "a NUL character (\\0) is not allowed: no path, name or command can hold one")
                return ""
            return str(data)
        raise TypeError(f"unsupported type in profile model: {tp}")

    def _int(self, data: Any, path: KeyPath, is_size: bool) -> int:
        if is_size:
            try:
                size: int | None = parse_size(data) if isinstance(data, (str, int)) else None
            except SizeError as err:
                self.fail(path, str(err))
                return 0
            if size is None:
                self.fail(path, f"expected a size such as 512MiB, got {_describe(data)}")
                return 0
            return size
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail(path, f"expected a whole number, got {_describe(data)}")
            return 0
        return int(data)

    def _dataclass(self, cls: type[Any], data: Any, path: KeyPath) -> Any:
        if not isinstance(data, dict):
            self.fail(path, f"expected a mapping of keys, got {_describe(data)}")
            data = {}
        fields = {f.name: f for f in dataclasses.fields(cls)}
        hints = _hints(cls)
        for key in data:
            if key not in fields:
                hint = difflib.get_close_matches(key, list(fields), n=1, cutoff=0.6)
                extra = f" (did you mean '{hint[0]}'?)" if hint else ""
                known = ", ".join(fields)
                self.fail((*path, key), f"unknown key '{key}'{extra}; known keys: {known}")
        values: dict[str, Any] = {}
        missing = False
        for name, fld in fields.items():
            if name in data:
                values[name] = self._value(hints[name], data[name], (*path, name), fld.metadata)
            elif fld.default is dataclasses.MISSING and fld.default_factory is dataclasses.MISSING:
                self.fail(path, f"missing required key '{name}'")
                missing = True
        if missing:
            return None
        return cls(**values)


def _describe(data: Any) -> str:
    if data is None:
        return "nothing (null)"
    if isinstance(data, bool):
        return f"'{str(data).lower()}'"
    if isinstance(data, dict):
        return "a mapping"
    if isinstance(data, list):
        return "a list"
    return f"'{data}'"


def to_plain(obj: Any, *, redact: bool = True, keep: Callable[[Any], bool] | None = None) -> Any:
    """The plain-data form of a model object, omitting defaults; secrets replaced if redact."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        result: dict[str, Any] = {}
        for fld in dataclasses.fields(obj):
            value = getattr(obj, fld.name)
            default = fld.default if fld.default is not dataclasses.MISSING else (
                fld.default_factory() if fld.default_factory is not dataclasses.MISSING else dataclasses.MISSING
            )
            if value == default and fld.name != "version":
                continue
            if redact and fld.metadata.get("secret") and value is not None:
                result[fld.name] = "<removed>"
            elif redact and fld.metadata.get("redact_with") and value is not None:
                result[fld.name] = fld.metadata["redact_with"](value)  # the secrets inside (user-data's passwords)
            elif fld.metadata.get("size") and isinstance(value, int):
                result[fld.name] = format_size(value).replace(" ", "")
            else:
                result[fld.name] = to_plain(value, redact=redact)
        return result
    if isinstance(obj, tuple):
        return [to_plain(v, redact=redact) for v in obj]
    return obj


def json_schema(cls: type[Any]) -> dict[str, Any]:
    """A JSON Schema (draft 2020-12) derived from the model's type hints and field docs."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "azl-installer profile",
        **_schema_for(cls, {}),
    }


def _schema_for(tp: Any, meta: typing.Mapping[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any]
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        inner = _schema_for(next(a for a in get_args(tp) if a is not type(None)), meta)
        schema = {"anyOf": [inner, {"type": "null"}]}
    elif origin is Literal:
        schema = {"enum": list(get_args(tp))}
    elif origin is tuple:
        schema = {"type": "array", "items": _schema_for(get_args(tp)[0], {})}
    elif dataclasses.is_dataclass(tp):
        hints = _hints(typing.cast(type[Any], tp))
        props = {f.name: _schema_for(hints[f.name], f.metadata) for f in dataclasses.fields(tp)}
        required = [
            f.name
            for f in dataclasses.fields(tp)
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        ]
        schema = {"type": "object", "properties": props, "additionalProperties": False}
        if required:
            schema["required"] = required
        if tp.__doc__ and not tp.__doc__.startswith(getattr(tp, "__name__", "") + "("):
            schema["description"] = " ".join(tp.__doc__.split())
    elif tp is int and meta.get("size"):
        schema = {"anyOf": [{"type": "integer", "minimum": 0}, {"type": "string", "pattern": r"^\s*\d"}]}
    else:
        schema = {"type": {bool: "boolean", int: "integer", str: "string"}[tp]}
    if "doc" in meta:
        schema["description"] = meta["doc"]
    return schema
