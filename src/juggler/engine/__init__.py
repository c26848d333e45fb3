"""juggler's engine: pipelines over the event loop, threads and processes.

Layering: this package knows nothing of logs, HTTP or the command line. Everything public is
re-exported by ``juggler/__init__.py``; the ``_``-prefixed modules are private.
"""
