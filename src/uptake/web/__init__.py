"""The web app: NHS.UK pages, the JSON API (/api/v1), sign-in and roles. Start with `uptake serve`.

`create_app(workspace)` (uptake.web.app) builds the FastAPI application; see docs/web.md.
"""
