"""The DICOM peers of tests/net/peers.py as fixtures for every test in this folder."""

import pytest
from peers import brain_mr_in_orthanc, orthanc, radsight_node_port  # noqa: F401


@pytest.fixture(autouse=True)
def no_user_radsight_home(monkeypatch: pytest.MonkeyPatch) -> None:
    """RADSIGHT_HOME would win over the private data folder that tests/conftest.py sets."""
    monkeypatch.delenv("RADSIGHT_HOME", raising=False)
