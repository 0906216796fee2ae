"""The frontline ecosystem domain: the Innovation Award, innovation leads and time to innovate, networks and
anchor institutions, barriers, adopters. Pure rules and optimisation here; workflow tables in
``uptake.store`` (a migration); pages in ``uptake.web.ecosystem``. Layer 5: never imports web, cli, mission or
models.
"""
