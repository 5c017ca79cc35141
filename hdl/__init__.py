"""The gateware of spikefab, in Amaranth: one component per file (``docs/architecture.md``).

``core`` (a package: the neuron core, composing ``synapse``, ``lif``, ``emitter``,
``stdp``, ``delay`` and its own blocks),
``router`` (the spike router), ``network`` (cores + router + step barrier), ``uart`` and
``link`` (the host link), ``clocks`` (PLLs and reset). Shapes, word formats and latency
formulas come from ``spikefab.shape``; generating and simulating Verilog is ``spikefab.sim``'s.
"""
