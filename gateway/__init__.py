"""USSD/SMS self-service command gateway: an SMPP 3.4 ESME with a durable MO → reply pipeline."""

import logging

__version__ = "0.1.0"

# aiosqlite logs every statement it runs, with its parameters, at DEBUG: MO texts among them, and so the
# passwords and ID numbers sent to 502 and 503. Its INFO and above still reach the logs.
logging.getLogger("aiosqlite").setLevel(logging.INFO)
