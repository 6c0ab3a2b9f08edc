"""Open every page of a built site in headless Chromium and report what went wrong.

    python scripts/check_site.py _build/tiny/_build/html

The site is served over HTTP from a local port. Each HTML page is loaded through the Chrome
DevTools Protocol; a page passes when it loads with HTTP 200, every ``<img>`` has loaded
(``complete`` and a non-zero natural width), and the console shows no error: no uncaught
exception, no ``console.error``, and no failed request. MathJax must have typeset the equations
of pages that have them. Each page must also name an icon (``<link rel="icon">``) that exists in
the site, or the site must have a root ``favicon.ico``: otherwise the browser asks for
``/favicon.ico`` and logs a 404, at a moment that makes the browser check alone miss it in some
runs (this part is read from the files, not timed). Exits 1 and lists the failures otherwise.

Pages are loaded in a 1300-px window, a reader's laptop, and every figure of a notebook's output
must be legible there: no text under 10 CSS px as shown, measured from the smallest text size and
resolution that :func:`codec.page.figure_png` records in the PNG (a figure without that record
fails), and no output box (printed text, a table) may scroll sideways.

Chromium is started with ``--headless --no-sandbox --disable-gpu --no-first-run
--disable-background-networking --disable-component-update`` (Debian's ``chromium``; set
``CHROMIUM`` to use another binary).
"""

from __future__ import annotations

import argparse
import base64
import functools
import html.parser
import http.server
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

#: The smallest figure text a reader should meet, in CSS px (codec.page.SMALLEST_TEXT_PX; a test keeps the two equal), and the
#: window width the pages are measured at: a reader's laptop.
SMALLEST_TEXT_PX = 10
WINDOW_WIDTH = 1300

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update")

# After the load event: every image's state, and whether MathJax (if the page uses it) is done.
PAGE_STATE = """
(async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
  const images = Array.from(document.images);
  return JSON.stringify({
    title: document.title,
    images: images.length,
    broken: images.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.getAttribute('src')),
    math: document.querySelectorAll('.math').length,
    typeset: document.querySelectorAll('mjx-container').length,
    window: window.innerWidth,
    figures: Array.from(document.querySelectorAll('.cell_output img')).map(i => ({
      src: i.currentSrc || i.src, shown: i.getBoundingClientRect().width, natural: i.naturalWidth})),
    scrolling: Array.from(document.querySelectorAll('.cell_output pre, .cell_output .output table, .cell_output div.output'))
      .filter(e => e.scrollWidth > e.clientWidth + 1)
      .map(e => (e.innerText || '').split('\\n').reduce((a, b) => (b.length > a.length ? b : a), '').slice(0, 80)),
  });
})()
"""


class _IconLinks(html.parser.HTMLParser):
    """Collects the ``href`` of every ``<link rel="icon">`` (``rel`` may hold several words)."""

    def __init__(self):
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "link" and "icon" in (attributes.get("rel") or "").lower().split():
            self.hrefs.append(attributes.get("href") or "")


def icon_problems(html_dir: Path, page: str) -> list[str]:
    """What is wrong with the icon of ``page`` (a path relative to ``html_dir``), read from the file."""
    parser = _IconLinks()
    parser.feed((html_dir / page).read_text(encoding="utf-8", errors="replace"))
    if not parser.hrefs:
        if (html_dir / "favicon.ico").is_file():
            return []
        return ['names no icon (<link rel="icon">) and the site has no /favicon.ico: '
                "the browser requests it and gets a 404"]
    problems = []
    for href in parser.hrefs:
        parts = urllib.parse.urlsplit(href)
        if parts.scheme or parts.netloc:  # data:, http(s): nothing in the site to look at
            continue
        target = (html_dir / page).parent / urllib.parse.unquote(parts.path)
        if not parts.path or not target.is_file():
            problems.append(f"icon not found in the site: {href!r}")
    return problems


def png_text(data: bytes) -> dict[str, str]:
    """The text chunks (``tEXt``) of a PNG file's bytes; {} for anything else."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        return {}
    chunks, at = {}, 8
    while at + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        body = data[at + 8:at + 8 + length]
        if kind == b"tEXt" and b"\0" in body:
            key, value = body.split(b"\0", 1)
            chunks[key.decode("latin-1")] = value.decode("latin-1")
        if kind == b"IEND":
            break
        at += 12 + length
    return chunks


#: the words that begin (or name) each kind of problem :func:`legibility_problems` reports
LEGIBILITY_PROBLEMS = ("figure without a record of its text size", "figure text at ", "output box scrolls sideways")


def is_legibility_problem(problem: str) -> bool:
    """Whether ``problem`` (one of :func:`check_site`'s) is about legibility: a figure's text size or
    an output box that scrolls sideways."""
    return problem.startswith(LEGIBILITY_PROBLEMS)


def legibility_problems(html_dir: Path, base: str, state: dict) -> list[str]:
    """The figures of a loaded page whose smallest text is under :data:`SMALLEST_TEXT_PX` CSS px as
    shown, or that carry no record of it, and the output boxes that scroll sideways.

    A figure's record is the PNG text chunks ``codec:smallest-text-pt`` and ``codec:dpi`` that
    :func:`codec.page.figure_png` writes: its smallest text is ``pt / 72 * dpi`` image pixels, shown
    at ``shown / natural`` CSS px per image pixel.
    """
    problems = []
    for figure in state.get("figures", []):
        path = urllib.parse.urlsplit(figure["src"]).path
        name = urllib.parse.unquote(path.split("/")[-1])
        local = html_dir / urllib.parse.unquote(path.removeprefix(urllib.parse.urlsplit(base).path).lstrip("/"))
        record = png_text(local.read_bytes()) if local.is_file() else {}
        if "codec:dpi" not in record:
            problems.append(f"figure without a record of its text size (draw it after codec.plots.theme()): {name}")
            continue
        if "codec:smallest-text-pt" not in record or not figure["natural"]:
            continue  # no text on it
        pixels = float(record["codec:smallest-text-pt"]) / 72 * float(record["codec:dpi"]) * figure["shown"] / figure["natural"]
        if pixels < SMALLEST_TEXT_PX - 0.05:
            problems.append(f"figure text at {pixels:.1f} CSS px (its smallest, {record['codec:smallest-text-pt']} pt, shown at "
                            f"{figure['shown']:.0f} of {figure['natural'] / float(record['codec:dpi']) * 100:.0f} CSS px) under "
                            f"{SMALLEST_TEXT_PX} px at a {state['window']}-px window: {name}")
    problems += [f"output box scrolls sideways at a {state['window']}-px window: {line!r}" for line in state.get("scrolling", [])]
    return problems


def find_chromium() -> str:
    for candidate in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if candidate and shutil.which(candidate):
            return shutil.which(candidate)
    raise SystemExit("check_site: no Chromium found; install Debian's `chromium` (apt-get install chromium) "
                     "or set CHROMIUM to a Chrome/Chromium binary")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve(root: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


class DevTools:
    """A minimal Chrome DevTools Protocol client for one page target."""

    def __init__(self, websocket_url: str):
        import websocket  # websocket-client, in the book extras

        self.socket = websocket.create_connection(websocket_url, timeout=60, suppress_origin=True)
        self.next_id = 0
        self.events: list[dict] = []

    def call(self, method: str, **params) -> dict:
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def wait_for(self, event: str, timeout: float = 60.0) -> dict:
        deadline = time.monotonic() + timeout
        for index, message in enumerate(self.events):
            if message.get("method") == event:
                return self.events.pop(index)
        while time.monotonic() < deadline:
            self.socket.settimeout(max(0.1, deadline - time.monotonic()))
            message = json.loads(self.socket.recv())
            if message.get("method") == event:
                return message
            self.events.append(message)
        raise TimeoutError(f"no {event} within {timeout} s")

    def close(self):
        self.socket.close()


def start_chromium(profile: Path) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [find_chromium(), *CHROMIUM_FLAGS, "--remote-debugging-port=0", f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    port_file = profile / "DevToolsActivePort"
    deadline = time.monotonic() + 60
    while not port_file.exists() or not port_file.read_text().strip():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise SystemExit("check_site: Chromium did not start (no DevToolsActivePort)")
        time.sleep(0.1)
    port = port_file.read_text().split()[0]
    return process, f"http://127.0.0.1:{port}"


def page_target(devtools_http: str) -> str:
    request = urllib.request.Request(f"{devtools_http}/json/new?about:blank", method="PUT")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())["webSocketDebuggerUrl"]


def check_page(client: DevTools, url: str) -> tuple[list[str], dict]:
    """Load one page; returns its problems and its state."""
    client.events.clear()
    client.call("Emulation.setDeviceMetricsOverride", width=WINDOW_WIDTH, height=800, deviceScaleFactor=1, mobile=False)
    client.call("Page.navigate", url=url)
    client.wait_for("Page.loadEventFired")
    state = json.loads(client.call("Runtime.evaluate", expression=PAGE_STATE, awaitPromise=True,
                                   returnByValue=True)["result"]["value"])
    time.sleep(0.2)  # let late console messages arrive
    client.call("Runtime.evaluate", expression="0")  # drains the events sent meanwhile
    problems = []
    for message in client.events:
        method, params = message.get("method"), message.get("params", {})
        if method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            problems.append(f"uncaught exception: {text}")
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            problems.append("console.error: " + " ".join(str(a.get("value", a.get("description"))) for a in params.get("args", [])))
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            problems.append(f"console ({params['entry']['source']}): {params['entry']['text']} {params['entry'].get('url', '')}".strip())
        elif method == "Network.responseReceived" and params["response"]["status"] >= 400:
            problems.append(f"HTTP {params['response']['status']} for {params['response']['url']}")
        elif method == "Network.loadingFailed" and not params.get("canceled"):
            problems.append(f"request failed: {params.get('errorText')} ({params.get('type')})")
    problems += [f"image did not load: {src}" for src in state["broken"]]
    if state["math"] and state["typeset"] == 0:
        problems.append(f"{state['math']} equations, none typeset by MathJax")
    return problems, state


#: the window widths a page is photographed at: a laptop's and a phone's, in CSS pixels
SCREENSHOT_WIDTHS = {"": 1300, "-390": 390}


def screenshot(client: DevTools, path: Path, width: int = 1300) -> None:
    """The whole loaded page as a PNG, at ``width`` CSS pixels (1300: a reader's laptop window; below
    600, a phone: the page is laid out as on a mobile device)."""
    mobile = width < 600
    client.call("Emulation.setDeviceMetricsOverride", width=width, height=800, deviceScaleFactor=1, mobile=mobile)
    time.sleep(0.3)  # relayout at the new width before the height is read
    height = json.loads(client.call("Runtime.evaluate", expression="JSON.stringify(document.documentElement.scrollHeight)",
                                    returnByValue=True)["result"]["value"])
    client.call("Emulation.setDeviceMetricsOverride", width=width, height=min(int(height), 16000), deviceScaleFactor=1, mobile=mobile)
    time.sleep(0.3)
    shot = client.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(base64.b64decode(shot["data"]))
    client.call("Emulation.clearDeviceMetricsOverride")


def check_site(html_dir: Path, screenshots: Path | None = None) -> dict[str, list[str]]:
    """Check every HTML page under ``html_dir``; returns {page: problems} (empty lists pass).

    With ``screenshots``, each page is also saved there as full-page PNGs at 1300 px and at 390 px
    (``<page>.png``, ``<page>-390.png``; :data:`SCREENSHOT_WIDTHS`).
    """
    html_dir = Path(html_dir)
    pages = sorted(p.relative_to(html_dir).as_posix() for p in html_dir.rglob("*.html")
                   if "_static" not in p.parts and "_sources" not in p.parts)
    if not pages:
        raise SystemExit(f"check_site: no HTML pages under {html_dir}")
    server, base = serve(html_dir)
    with tempfile.TemporaryDirectory() as profile:
        process, devtools_http = start_chromium(Path(profile))
        try:
            client = DevTools(page_target(devtools_http))
            for domain in ("Page", "Runtime", "Log", "Network"):
                client.call(f"{domain}.enable")
            results = {}
            for page in pages:
                problems, state = check_page(client, f"{base}/{page}")
                problems += legibility_problems(html_dir, base, state)
                if screenshots is not None:
                    for suffix, width in SCREENSHOT_WIDTHS.items():
                        name = page.replace("/", "__").removesuffix(".html") + suffix + ".png"
                        screenshot(client, Path(screenshots) / name, width)
                problems += icon_problems(html_dir, page)
                results[page] = problems
                print(f"{'ok  ' if not problems else 'FAIL'} {page}: {state['images']} images, "
                      f"{state['typeset']} equations typeset, {len(state['figures'])} figures measured")
                for problem in problems:
                    print(f"       {problem}")
            client.close()
        finally:
            process.kill()
            process.wait()
            server.shutdown()
    return results


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("html_dir", type=Path, help="the built site (a folder with index.html)")
    parser.add_argument("--screenshots", type=Path, help="also save full-page PNGs of every page, 1300 px and 390 px wide, here")
    args = parser.parse_args(argv)
    results = check_site(args.html_dir, args.screenshots)
    failed = [page for page, problems in results.items() if problems]
    print(f"{len(results) - len(failed)} of {len(results)} pages pass")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
