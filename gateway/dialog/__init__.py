"""Dialogs: multi-step exchanges (confirm an order, pick a service to cancel, change a password).

One dialog at most per (subscriber, service number), persisted with its data and expiry in the gateway's
database, so a restart loses none. The machines (python-statemachine) decide; the engine does the I/O.
"""
