"""Generating and simulating the gateware: Verilog of a core or a network top
(:mod:`.generate`), cocotb runs on Icarus and Verilator against the golden model (:mod:`.rtl`
for one core, :mod:`.network` for network tops, testbenches in :mod:`.cocotb`), the simulated
board (:mod:`.board`: the board top in Verilator behind a pin-level UART model; :mod:`.ptyboard`:
the same, free-running behind a pseudo-terminal), and the one build cache they share
(:mod:`.cache`).
"""
