"""The processor: the log, read in micro-batches, through five phases.

    fold -> segments -> journeys -> compose          (per micro-batch, one transaction)
    send                                              (the sender process)

Each phase is a pure engine (`fold.py`, `segments.py`, `journeys.py`, `compose.py`,
`send.py`): state, input and `now` in, effects out. `apply.py` carries effects out through the
storage ports; `batch.py` runs the phases over a partition's micro-batches and timers;
`leases.py` shares partitions between processors; `roles.py` is the loop each process runs.
"""
