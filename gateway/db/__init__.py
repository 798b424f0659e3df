"""The persistence package: the only place that holds SQL or talks to a database driver.

The port is :mod:`gateway.db.unit` (a unit of work, and reads outside one); :mod:`gateway.db.store` is the
gateway's writer; each other module is the repository of one aggregate.
"""

import logging

DRIVER_LOGGERS = ("aiosqlite", "alembic")
"""The loggers of the driver and the migrations tool, quiet below WARNING (see :func:`quiet_driver_logs`)."""


def quiet_driver_logs(level: int = logging.WARNING) -> None:
    """Keep the driver's and the migrations tool's own logs at ``level`` and above.

    aiosqlite logs every statement it runs, with its parameters, at DEBUG: MO texts among them, and so the
    passwords and ID numbers sent to 502 and 503. Alembic writes two lines of its own at each start; ours
    says what changed.
    """
    for name in DRIVER_LOGGERS:
        logging.getLogger(name).setLevel(level)


quiet_driver_logs()
