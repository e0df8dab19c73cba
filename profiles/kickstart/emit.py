"""YAML text of a converted profile, with a comment above each key and list item naming its kickstart line."""

from __future__ import annotations

from typing import Any

import yaml

from profiles.kickstart.draft import KeyPath


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # Scripts read best as block text; the emitter falls back to quoting where a block cannot hold them.
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def _scalar(key: str, value: Any) -> list[str]:
    """'key: value' as PyYAML writes it (block scalars included), as lines."""
    text = yaml.dump({key: value}, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=100,
                     allow_unicode=True)
    return text.rstrip("\n").split("\n")


def _comment(origins: dict[KeyPath, list[str]], path: KeyPath, indent: str) -> list[str]:
    notes = origins.get(path)
    return [f"{indent}# from {', '.join(notes)}"] if notes else []


def _mapping(data: dict[str, Any], path: KeyPath, origins: dict[KeyPath, list[str]], indent: str) -> list[str]:
    lines: list[str] = []
    for key, value in data.items():
        here = (*path, key)
        lines += _comment(origins, here, indent)
        if isinstance(value, dict) and value:
            lines.append(f"{indent}{key}:")
            lines += _mapping(value, here, origins, indent + "  ")
        elif isinstance(value, list) and value and any(isinstance(v, (dict, list)) for v in value):
            lines.append(f"{indent}{key}:")
            for index, item in enumerate(value):
                lines += _comment(origins, (*here, index), indent + "  ")
                lines += _item(item, (*here, index), origins, indent + "  ")
        else:
            if isinstance(value, list):  # a list of words: its items' lines in one comment above the key
                notes = [n for index in range(len(value)) for n in origins.get((*here, index), [])]
                lines += _comment({here: list(dict.fromkeys(notes))}, here, indent) if here not in origins else []
            lines += [indent + line for line in _scalar(key, value)]
    return lines


def _item(item: Any, path: KeyPath, origins: dict[KeyPath, list[str]], indent: str) -> list[str]:
    if isinstance(item, dict) and item:
        body = _mapping(item, path, origins, indent + "  ")
        first = body.index(next(line for line in body if not line.lstrip().startswith("#")))
        # "- " takes the place of the first key's indent; comments before it move above the dash.
        return [*body[:first], f"{indent}- {body[first].lstrip()}", *body[first + 1:]]
    lines = _scalar("x", [item])[1:]  # "- value" lines of a one-item list
    return [indent + line for line in lines]


def profile_yaml(data: dict[str, Any], origins: dict[KeyPath, list[str]], header: list[str]) -> str:
    lines = [f"# {line}" if line else "#" for line in header]
    return "\n".join([*lines, *_mapping(data, (), origins, "")]) + "\n"
