"""cocotb testbenches that the library runs (imported by cocotb in the simulator process):
:mod:`.core` for one core, :mod:`.network` for network tops."""
