"""The chart tests need a Helm v3 binary; without one they fail and say how to get it."""

from __future__ import annotations

import pytest

from tests.charts.manifests import helm_binary


@pytest.fixture(scope="session")
def helm() -> str:
    found = helm_binary()
    if found is None:
        pytest.fail(
            "no helm binary found ($LIBRA_HELM, .venv/bin/helm or PATH): `make install` "
            "installs Helm v3.19.0 into .venv/bin (infra/tools/install_helm.py)"
        )
    return found
