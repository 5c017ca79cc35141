"""The grouping of tests for pytest-xdist's ``--dist loadgroup`` (a pytest hook that
``tests/conftest.py`` takes in)."""

import pytest


def pytest_itemcollected(item):
    """A test that uses a module- or session-scoped fixture of this suite (a simulated board,
    a build) joins that fixture's ``xdist_group``: with ``--dist loadgroup`` (``make test``)
    the tests sharing it run on one worker, which sets it up once, instead of on every
    worker. (At collection, before xdist's own ``pytest_collection_modifyitems`` reads the
    groups.)"""
    info = getattr(item, "_fixtureinfo", None)
    if info is None or item.get_closest_marker("xdist_group") is not None:
        return
    for name in info.names_closure:
        defs = info.name2fixturedefs.get(name)
        # the suite's own shared fixtures (pytest's and plugins' have no base id)
        if defs and defs[-1].scope in ("module", "session") and defs[-1].baseid:
            item.add_marker(pytest.mark.xdist_group(f"{defs[-1].baseid}::{name}"))
            return
