"""The job file protocol of every cocotb testbench run by :func:`spikefab.sim.runner.run_job`.

The job is a dict pickled at the path named by ``SPIKEFAB_JOB``; its ``out`` names where the
results go (pickled), its ``error`` where the first failure goes: the checker's own sentence on
the first line (cocotb's assertion rewriting appends the expression below it, and the runner
raises that line), the traceback after it for the log.
"""

import os
import pickle
import traceback

__all__ = ["run_job_file"]


async def run_job_file(body):
    """Load the job, ``await body(job)`` and write what it returns; on any failure write the
    first line of its message and re-raise (the cocotb test fails too)."""
    with open(os.environ["SPIKEFAB_JOB"], "rb") as f:
        job = pickle.load(f)
    try:
        res = await body(job)
    except BaseException as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        with open(job["error"], "w") as f:
            f.write(first + "\n\n" + traceback.format_exc())
        raise
    with open(job["out"], "wb") as f:
        pickle.dump(res, f)
