"""USSD: the *100# menu over SMPP (ussd_service_op) and over HTTP."""
