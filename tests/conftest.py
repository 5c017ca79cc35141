"""Shared pytest set-up: the installed toolchain first on PATH, tool variables set; the
fixtures ``seed``, ``simulator`` and ``build_dir``; the seed of a failed test in its report."""

import os
import re
import zlib

import pytest

from spikefab.sim.runner import SIMULATORS
from spikefab.toolchain import setup_environ

from .xdist_groups import pytest_itemcollected  # noqa: F401  (a pytest hook)

setup_environ()

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def pytest_addoption(parser):
    parser.addoption("--seed", type=int, default=None,
                     help="seed of every test that takes the seed fixture (else the SEED "
                          "environment variable, else the test's seed mark, else a number "
                          "derived from the test id)")


def pytest_configure(config):
    config.addinivalue_line("markers", "seed(n): the default seed of the seed fixture")


@pytest.fixture
def seed(request):
    """The one seed of a test's random stimulus: ``--seed``, else ``SEED``, else the test's
    ``@pytest.mark.seed(n)``, else a number derived from the test id (stable from run to run).
    A failure report names it (see :func:`pytest_runtest_makereport`)."""
    given = request.config.getoption("--seed")
    if given is None and os.environ.get("SEED", "") != "":
        given = int(os.environ["SEED"])
    if given is not None:
        return given
    mark = request.node.get_closest_marker("seed")
    if mark is not None:
        return mark.args[0]
    return zlib.crc32(request.node.nodeid.encode()) % 10000


@pytest.fixture(params=SIMULATORS)
def simulator(request):
    """Each RTL simulator in turn (``icarus``, ``verilator``)."""
    return request.param


@pytest.fixture
def build_dir(request):
    """The test's own build folder, ``build/tests/<module>/<test id>`` (kept after the run, so
    a failure's logs and waveforms can be read; builds inside it are reused)."""
    module = request.node.module.__name__.rsplit(".", 1)[-1]
    path = os.path.join(ROOT, "build", "tests", module,
                        re.sub(r"[^\w.-]+", "_", request.node.name).strip("_"))
    os.makedirs(path, exist_ok=True)
    return path


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test that takes a seed says which, and how to replay it."""
    report = (yield).get_result()
    if not report.failed or "seed" not in getattr(item, "funcargs", {}):
        return
    s = item.funcargs["seed"]
    params = getattr(getattr(item, "callspec", None), "params", {})
    how = (f"pytest '{item.nodeid}'" if "seed" in params
           else f"pytest '{item.nodeid}' --seed {s}")
    report.sections.append(("seed", f"seed {s}: replay with {how}"))

