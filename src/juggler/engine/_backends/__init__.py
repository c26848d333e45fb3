"""The backends behind the ``cpu`` placement, side by side behind one seam.

``_protocol``: the ``CpuBackend`` seam (items in, one ``Outcome`` per item out) and its shared
form, ``SharedCpuBackend``, which many runs of one ``Runtime`` use at once. ``_fair``: the
deficit round-robin that shares worker time between runs. ``_local``: the supervised process
pool (``engine/_backends/_procpool``) as a shared backend. ``_dask``: a Dask cluster as one.
``_lease``: the ``CpuBackend`` one run sees, bound to its run id.
"""
