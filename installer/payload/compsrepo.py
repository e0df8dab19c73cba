"""The metadata-only repository that carries the installer's comps (groups and environments) to dnf.

dnf reads groups only from repositories, so the installer's own comps (installer/data) travels as one: a
repomd.xml naming three empty package lists and the comps file. It used to be made by `createrepo_c -g`
in every install, a process that cost about as much as the rest of the payload step's own work; the files
are small and fixed in form (the createrepo format, repomd.xml with sha256 checksums), so they are written
here directly.
"""

from __future__ import annotations

import gzip
import hashlib
import shutil
from pathlib import Path

_COMMON = "http://linux.duke.edu/metadata"
# The empty package lists dnf 4 and dnf5 both expect beside the group data (filelists and other too:
# dnf 4 loads filelists for every repository).
_EMPTY_LISTS = {
    "primary": f'<metadata xmlns="{_COMMON}/common" xmlns:rpm="{_COMMON}/rpm" packages="0">\n</metadata>\n',
    "filelists": f'<filelists xmlns="{_COMMON}/filelists" packages="0">\n</filelists>\n',
    "other": f'<otherdata xmlns="{_COMMON}/other" packages="0">\n</otherdata>\n',
}
_XML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _data_entry(kind: str, href: str, stored: bytes, opened: bytes | None, timestamp: int) -> str:
    lines = [f'  <data type="{kind}">', f'    <checksum type="sha256">{_sha256(stored)}</checksum>']
    if opened is not None:
        lines.append(f'    <open-checksum type="sha256">{_sha256(opened)}</open-checksum>')
    lines += [f'    <location href="{href}"/>', f"    <timestamp>{timestamp}</timestamp>",
              f"    <size>{len(stored)}</size>"]
    if opened is not None:
        lines.append(f"    <open-size>{len(opened)}</open-size>")
    return "\n".join([*lines, "  </data>"])


def write_comps_repo(comps: Path, dest: Path) -> Path:
    """dest becomes a repository with no packages and comps' groups; returns dest. A leftover from an
    interrupted run is replaced."""
    shutil.rmtree(dest, ignore_errors=True)
    repodata = dest / "repodata"
    repodata.mkdir(parents=True)
    # The comps file's own modification time: the same input gives the same repository.
    timestamp = int(comps.stat().st_mtime)
    entries = []
    for kind, body in _EMPTY_LISTS.items():
        opened = (_XML_HEAD + body).encode()
        stored = gzip.compress(opened, mtime=0)
        (repodata / f"{kind}.xml.gz").write_bytes(stored)
        entries.append(_data_entry(kind, f"repodata/{kind}.xml.gz", stored, opened, timestamp))
    groups = comps.read_bytes()
    (repodata / "comps.xml").write_bytes(groups)
    entries.append(_data_entry("group", "repodata/comps.xml", groups, None, timestamp))
    repomd = (f'{_XML_HEAD}<repomd xmlns="{_COMMON}/repo" xmlns:rpm="{_COMMON}/rpm">\n'
              f"  <revision>{timestamp}</revision>\n" + "\n".join(entries) + "\n</repomd>\n")
    (repodata / "repomd.xml").write_text(repomd)
    return dest
