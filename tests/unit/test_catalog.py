"""The software catalog: comps environments and groups, sizes from a local repository's primary.xml."""

from __future__ import annotations

import gzip
from pathlib import Path

from installer.payload.catalog import load_catalog, local_directory, parse_comps, parse_primary_sizes
from profiles.model import Repository

COMPS = b"""<?xml version="1.0"?>
<comps>
  <group><id>tools</id><name>Tools</name><name xml:lang="de">Werkzeuge</name>
    <description>Handy tools.</description><uservisible>true</uservisible>
    <packagelist><packagereq type="mandatory">vim</packagereq><packagereq type="default">tmux</packagereq>
      <packagereq type="optional">emacs</packagereq></packagelist></group>
  <environment><id>desk</id><name>Desk</name><description>A desk.</description><display_order>5</display_order>
    <grouplist><groupid>tools</groupid><groupid>core</groupid></grouplist></environment>
</comps>"""

PRIMARY = b"""<?xml version="1.0"?>
<metadata xmlns="http://linux.duke.edu/metadata/common" packages="3">
<package type="rpm"><name>vim</name><size package="10" installed="3000" archive="20"/></package>
<package type="rpm"><name>tmux</name><size package="10" installed="700" archive="20"/></package>
<package type="rpm"><name>bash</name><size package="10" installed="5000" archive="20"/></package>
</metadata>"""

REPOMD = """<?xml version="1.0"?>
<repomd xmlns="http://linux.duke.edu/metadata/repo">
  <data type="primary"><location href="repodata/p-primary.xml.gz"/></data>
  <data type="group"><location href="repodata/c-comps.xml"/></data>
</repomd>"""


def make_repo(root: Path) -> Path:
    (root / "repodata").mkdir(parents=True)
    (root / "repodata" / "repomd.xml").write_text(REPOMD)
    (root / "repodata" / "p-primary.xml.gz").write_bytes(gzip.compress(PRIMARY))
    (root / "repodata" / "c-comps.xml").write_bytes(COMPS)
    return root


def test_parse_comps_keeps_untranslated_names_and_installable_packages() -> None:
    groups, envs = parse_comps(COMPS)
    assert groups[0].name == "Tools" and groups[0].packages == ("vim", "tmux")
    assert envs[0].groups == ("tools", "core") and envs[0].display_order == 5


def test_primary_sizes() -> None:
    assert parse_primary_sizes(PRIMARY) == {"vim": 3000, "tmux": 700, "bash": 5000}


def test_builtin_comps_alone_has_no_sizes() -> None:
    catalog = load_catalog([Repository("remote", "https://example.invalid/repo")])
    assert [e.id for e in catalog.environments] == ["azure-server"]
    env = catalog.environment("azure-server")
    assert env is not None and env.size is None and env.groups == ("core", "azure-agents")
    assert catalog.group("core") is not None and catalog.problems == ()


def test_local_repository_adds_groups_and_sizes(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    catalog = load_catalog([Repository("local", repo.as_uri())])
    tools = catalog.group("tools")
    assert tools is not None and tools.size == 3700
    desk = catalog.environment("desk")
    core = catalog.group("core")
    assert desk is not None and core is not None and core.size == 5000  # bash, from the builtin core group
    assert desk.size == 3700 + 5000
    assert [e.id for e in catalog.environments] == ["desk", "azure-server"]  # by display_order


def test_broken_repository_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    catalog = load_catalog([Repository("gone", str(tmp_path / "missing"))])
    assert len(catalog.problems) == 1 and "repository gone" in catalog.problems[0]
    assert catalog.environment("azure-server") is not None


def test_local_directory() -> None:
    assert local_directory("file:///srv/my%20repo") == Path("/srv/my repo")
    assert local_directory("/srv/repo") == Path("/srv/repo")
    assert local_directory("https://example.com/repo") is None


def test_libcomps_reads_types_visibility_and_skips_translations() -> None:
    comps = b"""<comps><group><id>g</id><name>G</name><name xml:lang="fr">Ge</name>
      <uservisible>false</uservisible><packagelist>
      <packagereq>plain</packagereq><packagereq type="conditional" requires="x">cond</packagereq>
      <packagereq type="optional">opt</packagereq></packagelist></group></comps>"""
    groups, envs = parse_comps(comps)  # no <description>: libcomps logs it and goes on, as dnf does
    assert [(g.id, g.name, g.description, g.packages, g.uservisible) for g in groups] == [
        ("g", "G", "", ("plain",), False)]
    assert envs == []


def test_a_group_defined_twice_is_merged_as_dnf_merges_it(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    (repo / "repodata" / "c-comps.xml").write_bytes(
        b"<comps><group><id>core</id><name>Core (repo)</name><description>d</description><packagelist>"
        b"<packagereq>vim</packagereq></packagelist></group></comps>")
    core = load_catalog([Repository("local", repo.as_uri())]).group("core")
    assert core is not None and core.name == "Core (repo)"
    assert "bash" in core.packages and "vim" in core.packages  # the builtin's packages and the repo's


def test_comps_that_cannot_be_parsed_is_a_problem(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    (repo / "repodata" / "c-comps.xml").write_bytes(b"<comps><group>")
    catalog = load_catalog([Repository("broken", repo.as_uri())])
    assert len(catalog.problems) == 1 and catalog.problems[0].startswith("repository broken: comps:")
    assert catalog.environment("azure-server") is not None
