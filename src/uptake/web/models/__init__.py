"""The models' pages and API: what closing the gaps is worth (``health_wealth``: the /health-and-wealth page;
``api``: /api/v1/outcomes and /api/v1/impact). Each module has its own router, mounted in uptake.web.app."""
