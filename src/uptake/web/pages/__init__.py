"""The pages: Home, Innovation, Organisations, Organisation, Compare, Data and methods, About, and the
CSV/Excel download of every table. Pages read the result snapshot only; nothing is computed per request
beyond selecting and formatting rows.

One module per page (``home``, ``innovation``, ``directory`` (Organisations), ``organisation``, ``profile`` (the
area profile and the board pack PDF), ``compare``, ``about`` (Data and methods, About), ``downloads``), the sections of the innovation and organisation pages in
``sections`` (one module per family of results), and ``router``: every page's routes, in this order.
"""

from fastapi import APIRouter

from uptake.web.pages import about, compare, directory, downloads, home, innovation, organisation, profile

router = APIRouter()
for _module in (home, innovation, directory, organisation, profile, compare, about, downloads):
    router.include_router(_module.router)
