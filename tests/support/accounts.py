"""A target root with just the account files, and a recorded useradd that leaves what the real one would."""

from __future__ import annotations

from pathlib import Path

from installer.core.runner import Reply


def fake_root(tmp_path: Path) -> Path:
    """tmp_path as a root holding /etc/passwd and /etc/group with root, bin and wheel."""
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "passwd").write_text("root:x:0:0:root:/root:/bin/bash\nbin:x:1:1:bin:/bin:/sbin/nologin\n")
    (etc / "group").write_text("root:x:0:\nwheel:x:10:\n")
    return tmp_path


def fake_useradd(root: Path) -> Reply:
    """What useradd --root leaves behind that later steps read: a passwd line and the home directory."""

    def effect(argv: tuple[str, ...]) -> None:
        name = argv[-1]
        uid = int(argv[argv.index("--uid") + 1]) if "--uid" in argv else 1000 + sum(
            1 for line in (root / "etc/passwd").read_text().splitlines() if int(line.split(":")[2]) >= 1000)
        with (root / "etc/passwd").open("a") as handle:
            handle.write(f"{name}:x:{uid}:{uid}::/home/{name}:/bin/bash\n")
        (root / "home" / name).mkdir(parents=True, mode=0o700)

    return Reply(effect=effect)
