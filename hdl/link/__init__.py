"""The host link: framed commands over a UART to a network top (``docs/protocol.md``).

:class:`Link` parses frames from its UART into a frame buffer, checks length, CRC and every
field before it changes anything, executes the command on the network top's host and
configuration ports and answers with a response frame. It only composes its parts, one
component per file: ``receiver`` (UART bytes to checked frames), ``executor`` (a frame
against the network top's ports), ``transmitter`` (the response framed, CRC appended),
``runner`` (steps in the background, their outputs queued) and ``leds``.
:class:`LinkedNetwork` is the drop-in board component: a
:class:`~spikefab.hdl.network.NetworkTop` behind a :class:`Link`, with the pins ``rx``,
``tx`` and four LEDs.
"""

from .top import Link, LinkedNetwork, link_timing

__all__ = ["Link", "LinkedNetwork", "link_timing"]
