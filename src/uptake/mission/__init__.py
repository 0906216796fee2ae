"""The mission (IPPR recommendations 1-4): National Service Frameworks, attainment, innovation ratings,
comply or justify, value assessment. See docs/mission.md.

Modules, one job each:

- ``schemas`` / ``framework_files``: framework YAML files (in ``frameworks/``), their checks and the
  difference between versions;
- ``framework_repository``: frameworks in the workflow database (versions kept, changes audited);
- ``trajectory``: period ends, rating years and trajectories (pure);
- ``attainment``: met / on trajectory / off trajectory / missed / not distinguishable (pure, vectorised),
  and ``results``: reading and writing the analytics store's result tables;
- ``rule_set``: the rating rule set (YAML in ``rules/``) and its evaluation; ``ratings``: facts, traces,
  explanations, and the draft -> reviewed -> published workflow;
- ``plans``: comply or justify; ``assessments``: value assessment and availability gaps;
- ``permissions``: who may do what (pure);
- ``export``: CSV, Parquet and JSON files; ``cli``: command functions; ``api`` and ``pages``: the JSON API
  and web pages (``pages.mount(app)``); ``demo``: ``seed_demo_mission``.
"""
