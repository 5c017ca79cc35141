"""cocotb testbenches that the library runs (imported by cocotb in the simulator process):
:mod:`.core` for one core, :mod:`.network` for network tops; both (and the router testbench of
the test suite) are built on :mod:`.streams` (the one stream driver, stream monitor and ``TB``
base) and :mod:`.job` (the job file that :func:`spikefab.sim.runner.run_job` passes)."""
