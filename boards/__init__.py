"""Board tops, the board catalog, and the build / report / flash flows (``docs/boards.md``)."""

from .catalog import BOARDS, Board, board_names, default_network, describe_boards, get_board
from .flow import (FlashError, board_params, build, build_top, check_capacity, design_for,
                   flash, flash_command, needs, report)

__all__ = ["BOARDS", "Board", "board_names", "default_network", "describe_boards", "get_board",
           "FlashError",
           "board_params", "build", "build_top", "check_capacity", "design_for", "flash",
           "flash_command",
           "needs", "report"]
