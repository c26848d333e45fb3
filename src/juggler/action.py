"""``python -m juggler.action``: what the repository's GitHub Action (``action.yml``) runs.

The logic lives in ``juggler.triage._action``; this module only starts it. The guard keeps
worker processes, which import this module again, from starting a second run.
"""

from __future__ import annotations

from .triage._action import main

if __name__ == "__main__":
    main()
