"""Test and demo aids, out of the production packages' way: the sample portals (``testbed.simulator``),
the report renderer, synthetic tables, the local mail sink and ``gkwatch demo``."""
