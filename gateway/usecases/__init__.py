"""Use cases: load the state a step needs, ask the rules, write the results in one unit of work, and raise
the reminders that follow (docs/architecture.md)."""
