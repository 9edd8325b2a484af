"""hostmap: map an app's endpoints to backend hosts, shared fronts, operators and migrations.

Offline, from recorded traffic captures and DNS data only.
"""

__version__ = "0.1.0"
