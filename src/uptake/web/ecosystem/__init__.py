"""Pages, forms and API of the frontline ecosystem (``uptake.ecosystem``): one module per journey."""
