"""The read model of the results: one declaration of every result table (``uptake.results.schema``) and every
read of them (``uptake.results.read``).

Layer: beside uptake.analytics and uptake.store; it imports only lower layers (stats). The pipeline writes
the pipeline's tables and the mission writes its own, both from the schema; the web, the mission, the
demo and the command line read through ``uptake.results.read``, on a DuckDB connection they are given: the
web's in-memory snapshot (uptake.web.snapshot) or a read-only connection on the store file.
"""
