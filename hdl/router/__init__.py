"""The spike router (``docs/router.md``): ``top.Router`` composes the spike arbiter
(``arbiter``), the source stage (``source``), the destination walker over the pointer table and
the destination list (``walker``), the output demultiplexer (``demux``) and the table's write
port (``table``)."""

from .top import Router, dst_layout, host_event_layout, ptr_layout, router_cfg_layout

__all__ = ["Router", "ptr_layout", "dst_layout", "host_event_layout", "router_cfg_layout"]
