"""The regression scales out with pytest-xdist's own distribution: ``--dist loadgroup`` keeps
the tests that share a module-scoped fixture (a simulated board, a build) on one worker
(``tests/conftest.py`` groups them), and ``--tx`` specs name the workers (local processes
here; ``ssh=host//python=...`` for other machines, README "Tests")."""

import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SUITE = '''
import os
import pytest

@pytest.fixture(scope="module")
def board():
    # stands for an expensive shared build: record which worker set it up
    wid = os.environ.get("PYTEST_XDIST_WORKER", "none")
    with open(os.path.join(os.environ["XDIST_LOG"], f"setup-{{wid}}-{module}"), "w"):
        pass
    return wid

@pytest.mark.parametrize("k", range(6))
def test_uses_board(board, k):
    assert board == os.environ.get("PYTEST_XDIST_WORKER")

@pytest.mark.parametrize("k", range(6))
def test_alone(k):
    pass
'''


def test_loadgroup_on_two_local_workers(tmp_path):
    """Two suites of tests sharing a module fixture, run on two local workers given by
    ``--tx``: every test passes and each shared fixture is set up exactly once."""
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "conftest.py").write_text(
        "from tests.xdist_groups import pytest_itemcollected  # noqa: F401\n")
    for module in ("a", "b"):
        (suite / f"test_{module}.py").write_text(SUITE.format(module=module))
    log = tmp_path / "log"
    log.mkdir()
    env = dict(os.environ, XDIST_LOG=str(log), PYTHONPATH=ROOT)
    r = subprocess.run([sys.executable, "-m", "pytest", "-p", "xdist", "--tx", "2*popen",
                        "--dist", "loadgroup", "-q", "-p", "no:cacheprovider", "suite"],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.search(r"24 passed", r.stdout), r.stdout
    setups = sorted(os.listdir(log))
    assert len(setups) == 2, setups            # one set-up per module: not one per worker
    assert {s.rsplit("-", 1)[1] for s in setups} == {"a", "b"}
