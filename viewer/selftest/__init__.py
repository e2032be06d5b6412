"""The self-test behind ``radsight selftest``: proves that an installation or a bundle works.

Qt-free. Each check module returns :class:`~viewer.selftest.report.Check` results; the command
prints them as a one-page report. Inputs and expected results live in ``resources/selftest/``
(expectations written by ``packaging/make_selftest_expectations.py``).
"""
