"""The one edit the board flow makes to Amaranth's RTLIL before yosys reads it.

A memory marked ``no_rw_check`` (``hdl/memory.py``: it never reads a word in the clock it
writes it) gets ``COLLISION_X_MASK`` set on each of its read ports: a read that meets a write
of the same word returns don't-care, so yosys builds no read-first emulation around the block
RAM. yosys's own ``no_rw_check`` does this only for the read ports that ``memory_dff`` merges
from an asynchronous port and a register; Amaranth emits synchronous ports, so the flow sets
the parameter itself. Nothing else in the text changes; simulations never see this text.
"""

import re

__all__ = ["mark_collisions"]

_MODULE = re.compile(r"^module (\S+)")
_MEMORY = re.compile(r"^\s*memory .*? (\S+)\s*$")
_ATTR = re.compile(r"^\s*attribute \\no_rw_check 1\s*$")
_MEMID = re.compile(r'^\s*parameter \\MEMID "\\\\(.+)"\s*$')
_MASK = re.compile(r"^(\s*parameter \\COLLISION_X_MASK )(\d+)'([01]+)\s*$")


def mark_collisions(text):
    """``text`` (RTLIL) with the read ports of every ``no_rw_check`` memory marked; returns
    ``(text, ports)``, the number of read ports marked.

    Memories and their ports are matched by name within one module (``MEMID``). A read port
    of a memory without the attribute, and a memory without write ports (a zero-width mask),
    are left as they are.
    """
    lines = text.split("\n")
    # pass 1: the marked memories of each module
    marked, module, attr = set(), None, False
    for line in lines:
        m = _MODULE.match(line)
        if m:
            module = m.group(1)
            continue
        if _ATTR.match(line):
            attr = True
            continue
        m = _MEMORY.match(line)
        if m:
            if attr:
                marked.add((module, m.group(1).lstrip("\\")))
            attr = False
        elif not line.lstrip().startswith("attribute"):
            attr = False
    # pass 2: the read ports of those memories
    module, memid, ports = None, None, 0
    for i, line in enumerate(lines):
        m = _MODULE.match(line)
        if m:
            module = m.group(1)
            continue
        if line.lstrip().startswith("cell "):
            memid = None
        m = _MEMID.match(line)
        if m:
            memid = m.group(1)
            continue
        m = _MASK.match(line)
        if m and (module, memid) in marked and int(m.group(2)) > 0:
            lines[i] = f"{m.group(1)}{m.group(2)}'{'1' * int(m.group(2))}"
            ports += 1
    return "\n".join(lines), ports
