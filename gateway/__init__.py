"""USSD/SMS self-service command gateway: an SMPP 3.4 ESME with a durable MO → reply pipeline."""

__version__ = "0.1.0"
