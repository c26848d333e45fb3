"""Detectors for the error families of real builds.

Pure functions over decoded lines, safe to run in a ``cpu`` worker: :func:`detect` returns
:class:`Hit` records (1-based inclusive line ranges) that pickle cheaply. Each family lives
in its own small module of :class:`~._rules.Rule` tuples (``python``, ``jvm``, ``native``,
``js``, ``other``, ``system``, ``ci``, ``generic``); :mod:`._markers` reads CI step and exit
markers into events for the analysis, and :mod:`._templates` is the seam to the template
miner.
"""

from ._model import KINDS as KINDS
from ._model import Hit as Hit
from ._normalise import visible as visible
from ._normalise import visible_lines as visible_lines
from ._scan import detect as detect
from ._scan import detect_visible as detect_visible

__all__ = ["KINDS", "Hit", "detect", "detect_visible", "visible", "visible_lines"]
