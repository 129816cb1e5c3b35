"""Fuzz-test fixtures (no network)."""

from __future__ import annotations

import pytest

from tests.unit.conftest import CONFIG_DIR
from workrouter.config.catalog import Catalog, load_catalog


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    """The seed catalog from deploy/config."""
    return load_catalog(CONFIG_DIR)
