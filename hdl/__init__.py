"""Amaranth RTL of spikefab: the neuron core and its blocks (``docs/core.md``).

``params`` (generation-time shape), ``lif`` (LIF update pipeline), ``synapse`` (weights and
exact accumulators), ``emitter`` (spike stream), ``core`` (composition and step control),
``host`` (word formats of the configuration port), ``generate`` (Verilog + metadata),
``rtlsim`` (running generated Verilog under cocotb).
"""
