"""HTML to PDF, for documents built from the same templates as the pages (the board pack; any other export).

How: a template renders a whole HTML document whose styles are inlined (``print_styles``: the NHS.UK
frontend stylesheet, Uptake's app.css and static/print.css) and whose charts are server-rendered SVG (no
JavaScript), and :func:`html_to_pdf` prints it with headless Chromium (``--print-to-pdf``), the browser the
browser tests already use. Nothing is fetched: the document is a file in a temporary folder, every style is
inside it, and Chromium is told that no host name resolves.

Chromium is found at $UPTAKE_CHROMIUM, else ``chromium``, ``chromium-browser``, ``google-chrome`` on the PATH
(Debian's package ``chromium``: ``make test`` installs it; ``pip install uptake`` alone does not, and then a
PDF answers a clear :class:`PdfUnavailable`, 503 on the web, exit 1 on the command line).

Use::

    html = web.templates.get_template("my_document.html").render(print_styles=print_styles(web.assets), ...)
    pdf_bytes = html_to_pdf(html)

where ``my_document.html`` extends ``print_layout.html`` (A4, page numbers in the footer, a title block).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

from markupsafe import Markup

from uptake.errors import UptakeError

CHROMIUM_ENV = "UPTAKE_CHROMIUM"
CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
#: seconds one document may take to print before it is abandoned
TIMEOUT_SECONDS = 90
#: documents printed at once by this process (each Chromium takes a core and ~150 MB while it prints)
_PRINTERS = threading.BoundedSemaphore(2)
#: the stylesheets inlined into a printed document, in order (AssetStore paths under /static/)
PRINT_STYLESHEETS = ("vendor/nhsuk-frontend.min.css", "app.css", "print.css")


class PdfUnavailable(UptakeError):
    """No browser to print with, or it failed: the message says which and what to do."""


def find_chromium() -> str | None:
    """The Chromium executable to print with (None if there is none)."""
    configured = os.environ.get(CHROMIUM_ENV)
    if configured:
        return configured if Path(configured).is_file() else None
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def print_styles(assets) -> Markup:
    """``<style>`` elements holding the stylesheets a printed document needs (read from the app's
    AssetStore), so the HTML is self-contained. A stylesheet that cannot be found is left out (the NHS.UK
    one needs ``npm ci``): the document still prints, plainer."""
    parts = []
    for path in PRINT_STYLESHEETS:
        asset = assets.get("static", path)
        if asset is not None:
            css = asset.body.decode("utf-8").replace("</", "<\\/")
            parts.append(f"<style>/* {path} */\n{css}</style>")
    return Markup("\n".join(parts))


def css_string(text: str) -> Markup:
    """``text`` as a quoted CSS string for a ``<style>`` element (for the ``content`` of a page's footer):
    quotes, backslashes, angle brackets and line breaks written as CSS escapes, so no text can end the string
    or the element."""
    escaped = "".join(ch if ch.isalnum() or ch in " .,:;()-_'/&" else f"\\{ord(ch):x} " for ch in str(text))
    return Markup('"' + escaped + '"')


def html_to_pdf(html: str, *, timeout: float = TIMEOUT_SECONDS) -> bytes:
    """The PDF Chromium prints from ``html`` (a whole, self-contained document: A4 unless its ``@page`` says
    otherwise; no header or footer of Chromium's own). Raises PdfUnavailable without Chromium, when it
    fails, or after ``timeout`` seconds."""
    browser = find_chromium()
    if browser is None:
        raise PdfUnavailable(
            "cannot make a PDF: no Chromium found. Install Debian's chromium package (`apt-get install "
            f"chromium`, as `make test` does) or set {CHROMIUM_ENV} to a Chromium or Chrome executable.")
    with _PRINTERS, tempfile.TemporaryDirectory(prefix="uptake-pdf-") as folder:
        work = Path(folder)
        page, out = work / "document.html", work / "document.pdf"
        page.write_text(html, encoding="utf-8")
        command = [
            browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--disable-sync",
            "--disable-background-networking", "--disable-component-update", "--mute-audio",
            "--host-resolver-rules=MAP * ~NOTFOUND",  # offline: nothing in the document can fetch anything
            f"--user-data-dir={work / 'profile'}", "--no-pdf-header-footer", "--run-all-compositor-stages-before-draw",
            f"--print-to-pdf={out}", page.as_uri(),
        ]
        try:
            done = subprocess.run(command, capture_output=True, timeout=timeout, cwd=work,
                                  env={**os.environ, "HOME": str(work)})
        except subprocess.TimeoutExpired:
            raise PdfUnavailable(f"Chromium ({browser}) did not finish the PDF within {timeout:.0f} seconds") from None
        except OSError as exc:
            raise PdfUnavailable(f"cannot run Chromium ({browser}): {exc}") from None
        body = out.read_bytes() if out.is_file() else b""
        if not body.startswith(b"%PDF"):
            tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
            raise PdfUnavailable(f"Chromium ({browser}) made no PDF (exit {done.returncode}): " + " | ".join(tail))
        return body
