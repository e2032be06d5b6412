"""The DICOM peers of tests/net/peers.py as fixtures for every test in this folder."""

from peers import brain_mr_in_orthanc, orthanc, radsight_node_port  # noqa: F401
