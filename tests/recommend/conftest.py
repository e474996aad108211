"""The real data set, where a clone of the repository carries it."""

from __future__ import annotations

from pathlib import Path

import pytest

from pertinent.recommend.retail import FILE_NAME

# Tests may find the repository from their own file; the package itself never does.
REPOSITORY = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def retail_file() -> Path:
    """*"Online Retail" data set, D. Chen, UCI Machine Learning Repository, CC BY 4.0.*"""
    return REPOSITORY / "datasets" / FILE_NAME
