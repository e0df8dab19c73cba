"""Mangled profiles must end in a ProfileError (or a valid Profile), never a traceback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from profiles import Profile, ProfileError, profile_from_text

EXAMPLES = [p.read_text() for p in sorted((Path(__file__).parents[2] / "profiles/examples").glob("*.yaml"))]

scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True),
                    st.text(max_size=20), st.sampled_from(["/", "xfs", "10GiB", "-1MiB", "$6$a$b", "1e309"]))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                      max_leaves=6)


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(data, dict):
        for key, value in data.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += _paths(value, (*prefix, index))
    return found


def _replace(data: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    head, *rest = path
    copy = dict(data) if isinstance(data, dict) else list(data)
    copy[head] = _replace(data[head], tuple(rest), value)
    return copy


def _outcome(text: str) -> None:
    try:
        assert isinstance(profile_from_text(text, "fuzz.yaml"), Profile)
    except ProfileError as err:
        assert err.issues and all(str(i).startswith("fuzz.yaml:") for i in err.issues)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(EXAMPLES), st.data())
def test_structurally_mangled_profiles(example: str, data: st.DataObject) -> None:
    doc = yaml.safe_load(example)
    path = data.draw(st.sampled_from(_paths(doc)))
    _outcome(yaml.safe_dump(_replace(doc, path, data.draw(values))))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(EXAMPLES), st.integers(0, 4000), st.integers(0, 30), st.text(max_size=6))
def test_textually_mangled_profiles(example: str, at: int, cut: int, insert: str) -> None:
    at = at % (len(example) + 1)
    _outcome(example[:at] + insert + example[at + cut:])
