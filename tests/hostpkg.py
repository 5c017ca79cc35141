"""Import ``host/`` as ``spikefab.host`` when the installed package does not map it yet."""

import importlib
import importlib.util
import pathlib
import sys


def load():
    try:
        return importlib.import_module("spikefab.host")
    except ImportError:
        pass
    root = pathlib.Path(__file__).resolve().parent.parent / "host"
    spec = importlib.util.spec_from_file_location(
        "spikefab.host", root / "__init__.py", submodule_search_locations=[str(root)])
    mod = importlib.util.module_from_spec(spec)
    sys.modules["spikefab.host"] = mod
    spec.loader.exec_module(mod)
    return mod
