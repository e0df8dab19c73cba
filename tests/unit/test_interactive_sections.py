"""The interactive_sections profile key: loading, located errors, the schema, and the unattended refusal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from installer.cli import main
from profiles import ProfileError, dump_profile, profile_from_text
from profiles.model import INTERACTIVE_SECTIONS
from storage.inventory import Inventory
from ui.choices import SECTION_FIELDS, Choices

BASE = """\
storage:
  disks: [{path: /dev/vda}]
payload:
  repositories: [{name: base, baseurl: "file:///srv/repo"}]
  packages: [bash]
system: {hostname: kept}
"""

# (interactive_sections value, expected "line:col: key.path: message" fragment)
ERRORS = [
    ("[storage, encyrption]", "7:33: interactive_sections[1]: must be one of system, storage, encryption, software, "
     "users, cloud_init, *; got 'encyrption' (did you mean 'encryption'?)"),
    ('[storage, "*"]', "7:33: interactive_sections[1]: '*' already means every section; list it alone"),
    ("[users, users]", "7:31: interactive_sections[1]: 'users' is listed twice"),
    ("users", "7:1: interactive_sections: expected a list, got 'users'"),
]


def load(sections: str) -> object:
    return profile_from_text(BASE + f"interactive_sections: {sections}\n", "p.yaml")


def test_names_load_and_the_default_is_none() -> None:
    assert profile_from_text(BASE, "p.yaml").interactive_sections == ()
    profile = load("[storage, cloud_init]")
    assert profile.interactive_sections == ("storage", "cloud_init")  # type: ignore[attr-defined]
    assert "interactive_sections:\n- storage\n- cloud_init" in dump_profile(profile)  # type: ignore[arg-type]


@pytest.mark.parametrize(("sections", "expected"), ERRORS, ids=[e[1][:50] for e in ERRORS])
def test_mistakes_are_located(sections: str, expected: str) -> None:
    with pytest.raises(ProfileError) as info:
        load(sections)
    assert any(line == f"p.yaml:{expected}" for line in str(info.value).splitlines()), str(info.value)


def test_the_messages_are_in_docs_errors() -> None:
    table = (Path(__file__).parents[2] / "docs" / "errors.md").read_text()
    for _, expected in ERRORS:
        assert expected.split(": ", 2)[-1].split("'")[0] in table, expected
    assert "sets interactive_sections: run the interactive installer" in table


def test_the_schema_lists_the_sections(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    prop = schema["properties"]["interactive_sections"]
    assert prop["type"] == "array" and prop["items"]["enum"] == [*INTERACTIVE_SECTIONS, "*"]
    assert "Review is always shown" in prop["description"]


def test_every_section_maps_to_profile_fields() -> None:
    assert set(SECTION_FIELDS) == set(INTERACTIVE_SECTIONS)


def test_unattended_install_refuses_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    profile = tmp_path / "p.yaml"
    profile.write_text(BASE + "interactive_sections: [storage]\n")
    image = tmp_path / "disk.img"
    assert main(["install", "--profile", str(profile), "--target-image", str(image), "--yes"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"azl-installer: {profile} sets interactive_sections: run the interactive installer "
                   f"('azl-installer --profile {profile}'), or remove the key to install unattended")
    assert not image.exists()


def test_choices_take_the_other_sections_as_written() -> None:
    base = profile_from_text(BASE + "interactive_sections: [system]\n", "p.yaml")
    choices = Choices.from_profile(base)
    assert choices.interactive("system") and not choices.interactive("storage")
    choices.hostname, choices.packages, choices.roles = "changed", "vim", {}
    chosen = choices.to_profile(Inventory())
    assert chosen.system.hostname == "changed"  # the open section takes the user's choice
    assert chosen.payload == base.payload and chosen.storage == base.storage  # the others are as written
    assert chosen.interactive_sections == ()
    every = Choices.from_profile(profile_from_text(BASE + 'interactive_sections: ["*"]\n', "p.yaml"))
    assert all(every.interactive(name) for name in INTERACTIVE_SECTIONS)
    assert Choices().interactive("storage")
