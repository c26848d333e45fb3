"""Where the ``CpuBackend`` seam used to live; it is in ``engine/_backends/_protocol.py`` now.

Kept so the process pool's modules, edited by others this session, import unchanged.
"""

from .._backends._protocol import CpuBackend, Failed, Ok, Outcome, Raised

__all__ = ["CpuBackend", "Failed", "Ok", "Outcome", "Raised"]
