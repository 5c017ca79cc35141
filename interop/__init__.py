"""Other formats in and out of spikefab: NIR (the Neuromorphic Intermediate Representation).

Imports ``spikefab.golden`` only (and the ``nir`` package). ``import_nir(graph_or_path, dt=...)``
maps a NIR graph onto a :class:`~spikefab.golden.Network` and returns a
:class:`FidelityReport` (the quantised golden model against a float reference of the graph);
``export_nir(net)`` writes a network as a ``nir.NIRGraph``. ``docs/nir.md`` has the mapping.
"""

from .nirgraph import SUPPORTED, parse
from .nirimport import (Agreement, FidelityReport, PopulationMap, ProjectionMap, import_nir,
                        read_nir)
from .nirexport import export_nir, write_nir
from .nirsim import reference

__all__ = ["SUPPORTED", "parse", "Agreement", "FidelityReport", "PopulationMap",
           "ProjectionMap", "import_nir", "read_nir", "export_nir", "write_nir", "reference"]
