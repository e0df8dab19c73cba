"""The comps repository the payload step writes itself (installer/payload/compsrepo.py): what repomd.xml
says of each file is what the file is, as dnf checks it; dnf itself reads it in
tests/integration/test_payload_real.py (dnf 4 and dnf5 installing groups from it)."""

from __future__ import annotations

import gzip
import hashlib
import xml.etree.ElementTree as ET
from pathlib import Path

from installer.payload.compsrepo import write_comps_repo
from installer.payload.dnf import comps_path

NS = {"repo": "http://linux.duke.edu/metadata/repo"}


def test_repomd_names_each_file_with_its_checksum_and_size(tmp_path: Path) -> None:
    repo = write_comps_repo(comps_path(), tmp_path / "comps-repo")
    repomd = ET.parse(repo / "repodata/repomd.xml").getroot()
    kinds = {}
    for data in repomd.findall("repo:data", NS):
        href = data.find("repo:location", NS).attrib["href"]  # type: ignore[union-attr]
        stored = (repo / href).read_bytes()
        assert data.findtext("repo:checksum", namespaces=NS) == hashlib.sha256(stored).hexdigest()
        assert data.findtext("repo:size", namespaces=NS) == str(len(stored))
        opened = data.findtext("repo:open-checksum", namespaces=NS)
        if opened is not None:
            plain = gzip.decompress(stored)
            assert opened == hashlib.sha256(plain).hexdigest()
            assert data.findtext("repo:open-size", namespaces=NS) == str(len(plain))
            assert ET.fromstring(plain).attrib["packages"] == "0"
        kinds[data.attrib["type"]] = href
    assert kinds == {"primary": "repodata/primary.xml.gz", "filelists": "repodata/filelists.xml.gz",
                     "other": "repodata/other.xml.gz", "group": "repodata/comps.xml"}
    assert (repo / "repodata/comps.xml").read_bytes() == comps_path().read_bytes()


def test_the_same_comps_give_the_same_repository_and_leftovers_go(tmp_path: Path) -> None:
    first = write_comps_repo(comps_path(), tmp_path / "a")
    (tmp_path / "b/repodata/.leftover").mkdir(parents=True)
    second = write_comps_repo(comps_path(), tmp_path / "b")
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    assert all((first / f).read_bytes() == (second / f).read_bytes() for f in files)
    assert not (second / "repodata/.leftover").exists()
