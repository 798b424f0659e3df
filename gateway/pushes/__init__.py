"""Reminder pushes: queued by the events that cause them, rechecked and sent at a steady rate."""
