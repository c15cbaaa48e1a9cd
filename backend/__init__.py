"""opsdeck without a screen: the plan's domain, the store, the write path and rules.

Nothing under this package imports Textual (tests/unit/test_layering.py proves it).
"""

__version__ = "0.1.0"
