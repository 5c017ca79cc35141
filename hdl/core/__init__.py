"""The neuron core: a composition of components (``docs/architecture.md``).

``top`` (:class:`Core`, which only instantiates and connects), ``control`` (the step
controller), ``config`` (the configuration port and the run-time parameter registers),
``sweep`` (the neuron state and the update sweep around the LIF pipeline), ``learning`` (STDP:
``traces``, ``ltp`` and the weight update's steering), ``layouts`` (the words they exchange).
The synapse array, LIF pipeline, spike emitter and learning datapaths are ``spikefab.hdl``'s
``synapse``, ``lif``, ``emitter`` and ``stdp``.
"""

from .layouts import cfg_layout, state_layout
from .top import Core

__all__ = ["Core", "cfg_layout", "state_layout"]
