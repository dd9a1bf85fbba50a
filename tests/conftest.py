"""Shared fixtures. Tests never touch the network: hub access is switched off before anything imports it."""

import os
from pathlib import Path

import pytest
from hypothesis import settings

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

# No per-example time limit: speed is measured in benchmarks/, and a deadline turns a busy machine into a failure.
settings.register_profile("mathcoach", deadline=None)
settings.load_profile("mathcoach")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(autouse=True)
def _home(tmp_path, monkeypatch):
    """Every test gets its own mathcoach home, so no test sees another's caches or run index."""
    monkeypatch.setenv("MATHCOACH_HOME", str(tmp_path / "home"))


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not beside this checkout")
    return SHARED_DATA


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A random-weight Llama directory, built once per test session."""
    from tests.helpers.tiny_model import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model")
