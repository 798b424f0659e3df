"""The benchmarks (``python -m bench``); see ``bench/__main__.py``."""

import gc


def steady_instrument() -> None:
    """Keep the measuring process's own garbage collector from pausing it in the middle of a load.

    The simulator and the load generator share this process; a full collection here (tens of ms once the
    answers and their timestamps pile up) would hold back MTs it has already received and charge the wait
    to the gateway, or to the floor. Every run is bounded, so the memory this keeps is too.
    """
    gc.collect()
    gc.freeze()
    gc.disable()
