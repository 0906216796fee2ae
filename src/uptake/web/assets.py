"""Static assets, all served by the app itself (NHS networks are often closed: nothing from a CDN).

Where each comes from:

- NHS.UK frontend CSS, JavaScript, icons and manifest: the ``nhsuk-frontend`` npm package, installed in
  the project's ``node_modules`` by set-up (``npm ci``; see package.json). The stylesheet's
  ``@font-face`` rules point at the NHS's font server; they are removed when the file is read, so the
  pages fall back to Arial (the NHS.UK font stack's own fallback) and make no request off the machine.
- htmx and Swagger UI: the ``htmx.org`` and ``swagger-ui-dist`` npm packages.
- plotly.js: the ``plotly.min.js`` that ships inside the ``plotly`` Python wheel.
- Uptake's own CSS and JavaScript: ``uptake/web/static``.

Files are read once into memory with a gzip copy and a content hash; URLs carry the hash (``?v=``), so
responses can be cached for a year and a new version is fetched as soon as it changes.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
import os
import re
import threading
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

NODE_MODULES_ENV = "UPTAKE_NODE_MODULES"
STATIC_DIR = Path(str(resources.files("uptake.web") / "static"))
NHSUK_VERSION = "10.6.1"

#: URL path (under /static/) -> (npm package, file inside it); "plotly" means the Python wheel.
VENDOR_FILES: dict[str, tuple[str, str]] = {
    "vendor/nhsuk-frontend.min.css": ("nhsuk-frontend", f"dist/nhsuk/nhsuk-frontend-{NHSUK_VERSION}.min.css"),
    "vendor/nhsuk-frontend.min.js": ("nhsuk-frontend", f"dist/nhsuk/nhsuk-frontend-{NHSUK_VERSION}.min.js"),
    "vendor/htmx.min.js": ("htmx.org", "dist/htmx.min.js"),
    "vendor/swagger-ui.css": ("swagger-ui-dist", "swagger-ui.css"),
    "vendor/swagger-ui-bundle.js": ("swagger-ui-dist", "swagger-ui-bundle.js"),
    "vendor/plotly.min.js": ("plotly", "package_data/plotly.min.js"),
}
NHSUK_ASSETS = ("nhsuk-frontend", "dist/nhsuk/assets")

_FONT_FACE = re.compile(r"@font-face\s*\{[^}]*\}")
_COMPRESSIBLE = ("text/", "application/javascript", "application/json", "image/svg+xml", "application/manifest")


class MissingAssets(RuntimeError):
    pass


def find_node_modules() -> Path | None:
    """The node_modules folder holding nhsuk-frontend: $UPTAKE_NODE_MODULES, else the nearest one above
    this package (a checkout) or the working directory."""
    configured = os.environ.get(NODE_MODULES_ENV)
    if configured:
        path = Path(configured)
        return path if (path / "nhsuk-frontend").is_dir() else None
    for start in (Path(__file__).resolve(), Path.cwd().resolve()):
        for folder in [start, *start.parents]:
            candidate = folder / "node_modules"
            if (candidate / "nhsuk-frontend").is_dir():
                return candidate
    return None


def plotly_js_path() -> Path:
    # deferred: plotly is heavy and only this path needs it
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


@dataclass(frozen=True)
class Asset:
    body: bytes
    gzipped: bytes | None
    media_type: str
    etag: str

    @property
    def version(self) -> str:
        return self.etag.strip('"')[:10]


def _make_asset(body: bytes, name: str) -> Asset:
    media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    if name.endswith(".js"):
        media_type = "application/javascript"
    if name.endswith(".json") or name.endswith(".webmanifest"):
        media_type = "application/json"
    if media_type.startswith("text/") or media_type == "application/javascript":
        media_type += "; charset=utf-8"
    compressible = media_type.startswith(_COMPRESSIBLE) and len(body) > 1024
    gzipped = gzip.compress(body, compresslevel=6, mtime=0) if compressible else None
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    return Asset(body=body, gzipped=gzipped, media_type=media_type, etag=etag)


class AssetStore:
    """Loads assets on first use and keeps them in memory."""

    def __init__(self, node_modules: Path | None = None):
        self.node_modules = node_modules if node_modules is not None else find_node_modules()
        self._cache: dict[str, Asset | None] = {}
        self._lock = threading.Lock()

    @property
    def complete(self) -> bool:
        return self.node_modules is not None

    def _source(self, kind: str, path: str) -> Path | None:
        if kind == "static":
            if path.startswith("vendor/"):
                if path not in VENDOR_FILES:
                    return None
                package, inner = VENDOR_FILES[path]
                if package == "plotly":
                    return plotly_js_path()
                return self.node_modules / package / inner if self.node_modules else None
            base = STATIC_DIR
        else:  # "assets": NHS.UK icons, favicon, manifest
            if self.node_modules is None:
                return None
            base = self.node_modules / NHSUK_ASSETS[0] / NHSUK_ASSETS[1]
        candidate = (base / path).resolve()
        if not candidate.is_relative_to(base.resolve()):
            return None  # no ../ out of the folder
        return candidate

    def get(self, kind: str, path: str) -> Asset | None:
        """The asset at ``path``, or None. Only files found are kept: a miss is not cached, so requests for
        made-up paths cannot fill memory."""
        key = f"{kind}:{path}"
        asset = self._cache.get(key)
        if asset is not None:
            return asset
        if "\x00" in path or "\\" in path:
            return None  # a NUL byte or a Windows separator: never a file of ours
        with self._lock:
            asset = self._cache.get(key)
            if asset is not None:
                return asset
            try:
                source = self._source(kind, path)
                if source is None or not source.is_file():
                    return None
                body = source.read_bytes()
            except (OSError, ValueError):  # a name too long, or one the file system refuses
                return None
            if path == "vendor/nhsuk-frontend.min.css":
                body = _FONT_FACE.sub("", body.decode("utf-8")).encode("utf-8")
            asset = _make_asset(body, source.name)
            self._cache[key] = asset
            return asset

    def url(self, path: str) -> str:
        """The URL of a /static/ asset with its content version, for templates."""
        asset = self.get("static", path)
        return f"/static/{path}?v={asset.version}" if asset else f"/static/{path}"

    def json_asset(self, key: str, body: bytes) -> Asset:
        with self._lock:
            asset = self._cache.get(key)
            if asset is None:
                asset = _make_asset(body, key + ".json")
                self._cache[key] = asset
            return asset

    def missing(self) -> list[str]:
        """Vendor files that cannot be found, for a clear message at start-up."""
        return [path for path in VENDOR_FILES if self.get("static", path) is None]
