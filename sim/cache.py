"""The one build cache of spikefab's simulations: a folder per design, found by a hash.

Compiling a design (Icarus, Verilator, the simulated board) takes seconds to minutes, so every
build lands in ``<root>/<key>`` where ``key`` hashes everything the build depends on, and is
reused while that folder holds a finished build. Concurrent builds of the same design
(``pytest -n``) wait on a file lock instead of racing; a build that fails leaves no mark, so the
next call builds again.
"""

import contextlib
import fcntl
import hashlib
import os

__all__ = ["key_of", "BuildFolder", "build_folder"]


def key_of(*parts):
    """A 16-hex-digit key of ``parts`` (strings or bytes), in order."""
    h = hashlib.sha1()
    for part in parts:
        h.update(part if isinstance(part, bytes) else str(part).encode())
        h.update(b"\0")
    return h.hexdigest()[:16]


class BuildFolder:
    """A locked build folder.

    Attributes
    ----------
    path : str
    built : bool
        A finished build was already there when the lock was taken.
    """

    def __init__(self, path):
        self.path = path
        self.stamp = os.path.join(path, ".built")
        self.built = os.path.exists(self.stamp)

    def file(self, name):
        return os.path.join(self.path, name)


@contextlib.contextmanager
def build_folder(root, key):
    """Lock ``<root>/<key>`` (created if missing) and yield its :class:`BuildFolder`; mark the
    build finished when the block exits without an exception."""
    path = os.path.join(os.path.abspath(root), key)
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        folder = BuildFolder(path)
        yield folder
        open(folder.stamp, "w").close()
