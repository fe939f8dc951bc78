"""Infinity's own toolkit (infinity-core), spoken by our client.

People coming from Infinity's toolkit keep their scripts and notebooks: :mod:`.core_api` has
infinity-core's module functions (raw responses) over our endpoint table, and :mod:`.interop`
turns infinity-core's ``Session`` and ``Batch`` objects into ours. The same names stay
importable from where they always were (``infinity_workflows.api``,
``infinity_workflows.core_api``, ``infinity_workflows.interop``).
"""
