"""Shared setup of the test modules: helpers and constants more than one of them uses.

Test modules import from here (``from support.process import spawn``), never from one another; fixtures stay
in ``tests/conftest.py``. ``tests/`` is on ``sys.path`` because that conftest lives there.
"""
