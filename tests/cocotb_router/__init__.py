"""Router verification shared by the Amaranth-simulator tests and the cocotb testbench."""
