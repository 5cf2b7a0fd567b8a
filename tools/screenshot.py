"""Screenshot pages of a built site with Debian's Chromium (for looking at pages while writing).

Usage: python tools/screenshot.py SITE_DIR OUT_DIR page.html [page.html ...] [--dark] [--width N]
Serves SITE_DIR on 127.0.0.1 and writes one full-page PNG per page.
"""
from __future__ import annotations

import argparse
import functools
import http.server
import threading
from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def serve(directory: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}/"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("site", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("pages", nargs="+")
    parser.add_argument("--dark", action="store_true")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--full", action="store_true")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    server, base = serve(args.site)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": args.width, "height": 900},
                                color_scheme="dark" if args.dark else "light")
        for name in args.pages:
            page.goto(base + name)
            page.wait_for_timeout(800)
            target = args.out / (name.replace("/", "_").replace(".html", "") + ("-dark" if args.dark else "") + ".png")
            page.screenshot(path=str(target), full_page=args.full)
            print(target)
        browser.close()
    server.shutdown()


if __name__ == "__main__":
    main()
