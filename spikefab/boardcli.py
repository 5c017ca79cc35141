"""The board commands of the command line: ``boards``, ``build``, ``flash`` and ``report``
(``docs/boards.md``).

They call ``spikefab.boards``; user errors become one line through :mod:`spikefab.cli`.
"""

__all__ = ["add_board_commands"]


def cmd_boards(args):
    from .boards import describe_boards
    print(describe_boards())


def cmd_build(args):
    from .boards import build
    from .cli import _load
    net = _load(args.net) if args.net else None
    build(net=net, board=args.board, outdir=args.out, seed=args.seed, tries=args.tries)


def cmd_flash(args):
    from .boards import flash
    flash(args.board, bitstream=args.bitstream, dry_run=args.dry_run)


def cmd_report(args):
    from .boards import report
    report(args.board, write=args.write, rebuild=args.rebuild, seeds=args.seeds or None,
           jobs=args.jobs)



def add_board_commands(sub):
    """The commands of the board flow: boards, build, flash, report."""
    b = sub.add_parser("boards", help="list the supported boards and their devices")
    b.set_defaults(func=cmd_boards)

    bu = sub.add_parser("build", help="build the bitstream of a network for a board")
    bu.add_argument("net", metavar="NET.toml", nargs="?",
                    help="default: the board's default network")
    bu.add_argument("--board", required=True)
    bu.add_argument("--out", metavar="DIR", help="default build/<board>")
    bu.add_argument("--seed", type=int, default=None,
                    help="nextpnr placement seed (default: the board's)")
    bu.add_argument("--tries", type=int, default=3,
                    help="placements to try (seed, seed + 1, ...) until the clock constraint "
                         "is met (default 3)")
    bu.set_defaults(func=cmd_build)

    f = sub.add_parser("flash", help="program a board with its bitstream")
    f.add_argument("--board", required=True)
    f.add_argument("--bitstream", metavar="FILE", help="default build/<board>/top.bin|bit")
    f.add_argument("--dry-run", action="store_true", help="print the command, run nothing")
    f.set_defaults(func=cmd_flash)

    rp = sub.add_parser("report", help="utilisation and Fmax of every board's build")
    rp.add_argument("--rebuild", action="store_true", help="rebuild instead of reusing")
    rp.add_argument("--write", default="docs/boards.md", metavar="MD")
    rp.add_argument("--seeds", type=int, default=0, metavar="N",
                    help="also place every default network with seeds 1..N: the margin "
                         "table (minutes per seed; cached in build/<board>/seeds)")
    rp.add_argument("--jobs", type=int, default=2, help="placements side by side (--seeds)")
    rp.add_argument("--board", action="append", default=None,
                    help="only this board (repeatable; default every board)")
    rp.set_defaults(func=cmd_report)
