"""Beyond one process: plan a sync into work units, read them as shards, merge their states.

- :mod:`units`: the plan file (a header and one line per :class:`~units.Unit`), shard assignment.
- :mod:`planning`: ``plan()``, the registry of planners per source kind, bundling.
- :mod:`shard`: ``read --plan``: each unit read into deterministic files, then its manifest.
- :mod:`manifests`: where a unit's manifest lives and what it says.
- :mod:`merge`: ``state merge``: the states of the units into the stream states of the run.

See docs/scale-out.md.
"""
