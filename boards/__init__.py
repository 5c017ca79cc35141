"""The boards: one pin / clock table per board (``catalog.Pins``) feeding one generic top
(``top.py``), the catalog, and one build / report / flash flow (``docs/boards.md``): capacity
check (``capacity.py``), the design a network becomes on a board (``design.py``), the tool
driver (``toolflow.py``), the board build (``flow.py``), the table and ``docs/boards.md``
(``reporting.py``), programming (``flashing.py``); ``synth.py`` runs one core through the
same tool driver."""

from .catalog import BOARDS, Board, Pins, board_names, default_network, describe_boards, get_board
from .flow import (BuildError, FlashError, TimingError, board_params, build, build_top,
                   check_capacity, design_for, flash, flash_command, needs, report)

__all__ = ["BOARDS", "Board", "Pins", "board_names", "default_network", "describe_boards",
           "get_board", "BuildError", "FlashError", "TimingError", "board_params", "build",
           "build_top", "check_capacity", "design_for", "flash", "flash_command", "needs",
           "report"]
