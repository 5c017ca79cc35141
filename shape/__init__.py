"""What the gateware and the host must agree on, in pure Python (no Amaranth).

* :func:`derive` -- the one function that turns a validated network into the shape of its
  hardware: the mapping onto cores (:mod:`.mapping`), each core's shape (:mod:`.core`), the
  router and its table (:mod:`.router`), memory sizes; the Verilog generator, the board flow,
  the simulated board and the host all call it.
* :mod:`.latency` -- the cycle formulas of every block.
* :mod:`.cfg` -- the address map of a core's configuration port.
* :mod:`.fields` -- bit fields of the words the ports carry.
* :mod:`.image` -- the run-time image: weights, parameters, state and routes as words.
* :mod:`.protocol` -- the host protocol: commands, frames, CRC.
"""

from .core import CoreParams, NeuronSet
from .fields import Field, Fields
from .mapping import Mapping, map_network
from .network import DEFAULT_BUILD, NetworkParams, derive, params_json, shape_json
from .router import RouterParams

__all__ = ["CoreParams", "NeuronSet", "Field", "Fields", "Mapping", "map_network",
           "DEFAULT_BUILD", "NetworkParams", "derive", "params_json", "shape_json",
           "RouterParams"]
