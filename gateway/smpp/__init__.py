"""SMPP 3.4 without I/O: codec (bytes ↔ PDUs), text handling, and the ESME session state.

Nothing in this package imports asyncio; :mod:`gateway.link` moves the bytes.
"""
