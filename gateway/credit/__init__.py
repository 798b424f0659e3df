"""Credit control: the subscriber's status as a state machine driven by balance, time and requests."""
