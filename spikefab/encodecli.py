"""The ``encode`` command: intensities (or a time series) in an ``.npy`` file coded into input
spikes by one of the schemes of :mod:`spikefab.golden.encode` (``docs/coding.md``)."""

import numpy as np

from .errors import InvalidValue

__all__ = ["add_encode_command"]

#: Every scheme option: its argparse flag, the encoder's keyword, and the schemes it applies to.
_OPTIONS = [
    ("--rate", "rate", ("rate", "regular"), float, "P",
     "spike probability (rate) or spikes per step (regular) at intensity 1 (default 0.25)"),
    ("--seed", "seed", ("rate",), int, "N", "seed of the random code (default 0)"),
    ("--phase", "phase", ("regular",), float, "F",
     "where the accumulators start, a fraction of a spike in [0, 1) (default 0)"),
    ("--mode", "mode", ("ttfs",), str, "linear|log", "latency law (default linear)"),
    ("--cutoff", "cutoff", ("ttfs", "burst"), float, "X",
     "intensities at or below it stay silent (default 0; log TTFS needs one > 0)"),
    ("--max-spikes", "max_spikes", ("burst",), int, "N", "spikes per burst at 1 (default 5)"),
    ("--min-isi", "min_isi", ("burst",), int, "STEPS", "interval at intensity 1 (default 1)"),
    ("--max-isi", "max_isi", ("burst",), int, "STEPS", "interval towards 0 (default 4)"),
    ("--period", "period", ("burst",), int, "STEPS",
     "steps from one burst to the next (default: one burst)"),
    ("--bits", "bits", ("phase",), int, "K", "phases per oscillation period (default 8)"),
    ("--threshold", "threshold", ("delta",), float, "D",
     "change of the signal that makes a spike (default 0.1)"),
]


def cmd_encode(args):
    from .cli import CommandError, _about, _load_inputs
    from .golden import encode
    params = {}
    for flag, key, schemes, _, _, _ in _OPTIONS:
        value = getattr(args, key)
        if value is None:
            continue
        if args.scheme not in schemes:
            raise InvalidValue(f"{flag} applies to the {' and '.join(schemes)} code"
                               f"{'s' if len(schemes) > 1 else ''}, not to {args.scheme}")
        params[key] = value
    if args.scheme != "delta" and args.steps is None:
        raise InvalidValue(f"--steps is needed for the {args.scheme} code")
    with _about(args.input):
        x = _load_inputs(args.input)
        if x.dtype.kind not in "biuf":
            raise InvalidValue(f"Values must be numbers, not dtype {x.dtype}")
        if args.scheme == "delta":
            if x.ndim not in (2, 3):
                raise InvalidValue(f"A delta-coded series must have shape (T, N) or "
                                   f"(B, T, N), not {x.shape}")
        elif x.ndim not in (1, 2):
            raise InvalidValue(f"Intensities must have shape (N,) or (B, N), not {x.shape}")
    try:
        spikes = encode(args.scheme, x, args.steps, **params)
    except InvalidValue as e:
        # a value in the file is the file's error; an option's is the command line's
        if str(e).startswith(("Intensities", "A delta-coded")):
            raise CommandError(f"{args.input}: {e}") from None
        raise
    try:
        np.save(args.out, spikes)
    except OSError as e:
        raise InvalidValue(f"Cannot write {args.out!r}: {e.strerror}") from None
    T, N = spikes.shape[-2:]
    cells = max(spikes.size, 1)
    print(f"wrote {args.out}: {args.scheme} code, shape {spikes.shape} uint8 "
          f"({'batch, ' if spikes.ndim == 3 else ''}steps, channels), {int(spikes.sum()):,} "
          f"spikes ({spikes.sum() / cells:.3f} per channel and step)")


def add_encode_command(sub):
    """Add ``encode`` to the subparsers ``sub``."""
    from .golden import SCHEMES
    e = sub.add_parser("encode", help="code intensities (or a time series, delta) in an .npy "
                                      "into 0/1 input spikes")
    e.add_argument("input", metavar="IN.npy",
                   help="intensities in [0, 1], shape (N,) or (B, N); for delta a time "
                        "series (T, N) or (B, T, N)")
    e.add_argument("--scheme", required=True, choices=SCHEMES)
    e.add_argument("--steps", type=int, metavar="T",
                   help="time steps (needed except for delta, whose series sets them)")
    e.add_argument("-o", "--out", required=True, metavar="SPIKES.npy",
                   help="uint8 spikes (T, N) or (B, T, N); delta: (..., T, 2N), ON then OFF")
    for flag, key, schemes, kind, metavar, text in _OPTIONS:
        e.add_argument(flag, dest=key, type=kind, metavar=metavar,
                       help=f"{', '.join(schemes)}: {text}")
    e.set_defaults(func=cmd_encode)
