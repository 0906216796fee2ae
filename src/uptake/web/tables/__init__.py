"""The tables shown on pages, each also downloadable as CSV and Excel (/download/NAME.csv|xlsx?...).

A table is built once by a function here and used twice: the page renders its display cells, the download
writes its raw values (fractions, not percentages; ISO dates; codes), so a spreadsheet gets numbers it can
calculate with. Access rules are applied here, so a download never shows more than the page would.

- ``base``: a table (DataTable), its columns (Column) and the request context (Context) builders read from;
- ``cells``: cells several families share (links, tags, signed numbers);
- one module per family of results, each with its table builders: ``values`` (league, an organisation's
  position, compare), ``organisations``, ``deciles``, ``funnel``, ``spc``, ``changes``, ``equity``,
  ``peers`` (the innovation pack's peer tables and access rules), ``opportunity``, ``adoption``,
  ``provenance`` (indicators, batches, runs);
- ``registry``: every downloadable table by name (BUILDERS); ``files``: a table as CSV or Excel.
"""

from uptake.web.tables.base import Column, Context, DataTable
from uptake.web.tables.files import to_csv, to_xlsx
from uptake.web.tables.registry import BUILDERS

__all__ = ["BUILDERS", "Column", "Context", "DataTable", "to_csv", "to_xlsx"]
