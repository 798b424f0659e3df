"""The bundled SMSC simulator: a real SMPP 3.4 server over TCP that the gateway binds to.

Used by the end-to-end tests, the demo and human testers (``gateway smsc-sim``); see
:class:`SmscSimulator` for the Python API and :mod:`gateway.smsc.control` for the HTTP one.
"""

from gateway.smsc.core import BindType, Faults, Session
from gateway.smsc.mts import Mt
from gateway.smsc.server import SmscSimulator, run_simulator

__all__ = ["BindType", "Faults", "Mt", "Session", "SmscSimulator", "run_simulator"]
