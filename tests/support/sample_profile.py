"""profiles/examples/sample.yaml pointed at a built sample repository, for host installs into images."""

from __future__ import annotations

from pathlib import Path

import yaml

EXAMPLES = Path(__file__).parents[2] / "profiles" / "examples"


def sample_profile(tmp_path: Path, repo: Path, edit: dict[str, object] | None = None) -> Path:
    """The sample profile with the repository at repo and the top-level keys of edit replaced; its path."""
    data = yaml.safe_load((EXAMPLES / "sample.yaml").read_text())
    data["payload"]["repositories"][0]["baseurl"] = repo.as_uri()
    data.update(edit or {})
    path = tmp_path / "profile.yaml"
    path.write_text(yaml.safe_dump(data))
    return path
