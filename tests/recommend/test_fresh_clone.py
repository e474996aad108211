"""A fresh clone of the repository, with nothing beside it, evaluates on the real shop: the
data set travels with the repository, and the code finds it there (the CI runs from such a
clone, where no `../shared` exists).

It clones the last commit: what is not committed yet is not in the clone.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def _git(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)


@pytest.mark.slow
def test_a_fresh_clone_alone_in_its_folder_evaluates_on_the_real_shop(
    tmp_path: Path, retail_file: Path
) -> None:
    repository = retail_file.parents[1]
    if _git("rev-parse", "--is-inside-work-tree", cwd=repository).returncode != 0:
        pytest.skip("not a git checkout: there is nothing to clone")
    alone = tmp_path / "empty-parent"
    alone.mkdir()
    clone = alone / "pertinent"
    cloned = _git("clone", "--quiet", str(repository), str(clone), cwd=tmp_path)
    assert cloned.returncode == 0, cloned.stderr
    assert [p.name for p in alone.iterdir()] == ["pertinent"], "nothing beside the clone"

    env = {k: v for k, v in os.environ.items() if k != "PERTINENT_RETAIL_FILE"}
    env["PYTHONPATH"] = str(clone / "src")  # the clone's code, not this checkout's
    command = [sys.executable, "-m", "pertinent", "recommend", "evaluate", "--retail"]
    result = subprocess.run(
        [*command, "--models", "popular"], cwd=clone, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "time split at 2011-09-01" in result.stdout and "popular" in result.stdout
    imported = subprocess.run(
        [sys.executable, "-c", "import pertinent; print(pertinent.__file__)"],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
    )
    assert imported.stdout.startswith(str(clone)), "the clone's own package ran"
