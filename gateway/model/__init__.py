"""The facts the gateway keeps, as frozen dataclasses: shared by the rules and the persistence package.

Nothing here reads, writes or decides anything; it imports only the foundation (``gateway.types``), so
``gateway/db/`` can return these without depending on the rules above it.
"""
