"""The network top (``docs/network.md``): ``top.NetworkTop`` composes one neuron core per mapped
core, the router, the step controller (``control``: barrier, start, step tags, host inputs) and
the configuration dispatcher (``dispatch``)."""

from .top import NetworkTop, input_layout, network_cfg_layout

__all__ = ["NetworkTop", "input_layout", "network_cfg_layout"]
