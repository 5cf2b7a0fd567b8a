"""Build the site with Live Code connected to a local Jupyter server, and serve both (``make live``).

An instructor can then open any page on http://127.0.0.1:8000, click Live Code and run every cell
in the browser, with the kernel running on this machine in the page's folder. Ctrl-C stops the site
and the Jupyter server. The browser tests use :func:`start_jupyter` and :func:`wait_until_ready`.
"""
from __future__ import annotations

import argparse
import functools
import http.server
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def kernel_env(kernel_port: int, token: str) -> dict[str, str]:
    """The build environment that points Live Code at the local server."""
    return {**os.environ, "COURSE_KERNEL_URL": f"http://127.0.0.1:{kernel_port}/",
            "COURSE_KERNEL_TOKEN": token}


def start_jupyter(kernel_port: int, token: str, site_origin: str, root: Path = ROOT,
                  log: Path | None = None) -> subprocess.Popen[bytes]:
    """A Jupyter server on 127.0.0.1 that accepts the site's origin and the given token."""
    command = [str(BIN / "jupyter-server"), "--no-browser", "--ip=127.0.0.1", f"--port={kernel_port}",
               "--port-retries=0", f"--IdentityProvider.token={token}",
               f"--ServerApp.allow_origin={site_origin}", f"--ServerApp.root_dir={root}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    output = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115 - lives as long as the server
    return subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, cwd=root)


def wait_until_ready(kernel_port: int, token: str, timeout: float = 60.0) -> None:
    """Poll the server's API until it answers with its version."""
    url = f"http://127.0.0.1:{kernel_port}/api/status?token={token}"
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - local URL
                json.load(response)
                return
        except (urllib.error.URLError, ConnectionError, json.JSONDecodeError):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the Jupyter server on port {kernel_port} did not answer within "
                                   f"{timeout:.0f} s") from None
            time.sleep(0.3)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--site-port", type=int, default=8000)
    parser.add_argument("--kernel-port", type=int, default=8888)
    parser.add_argument("build_flags", nargs="*", help="extra flags for jupyter-book build")
    args = parser.parse_args()
    for port in (args.site_port, args.kernel_port):
        if port_in_use(port):
            print(f"error: port {port} is already in use on 127.0.0.1; choose another one, e.g. "
                  "`make live LIVE_PORT=8001 KERNEL_PORT=8889`", file=sys.stderr)
            return 1
    token = secrets.token_hex(16)
    build = subprocess.run([str(BIN / "python"), "tools/build.py", ".", *args.build_flags],
                           cwd=ROOT, env=kernel_env(args.kernel_port, token))
    if build.returncode != 0:
        return build.returncode
    site_origin = f"http://127.0.0.1:{args.site_port}"
    jupyter = start_jupyter(args.kernel_port, token, site_origin)
    handler = functools.partial(QuietHandler, directory=str(ROOT / "_build" / "html"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.site_port), handler)
    try:
        wait_until_ready(args.kernel_port, token)
        print(f"\nSite: {site_origin}/  (Live Code runs on the Jupyter server at "
              f"http://127.0.0.1:{args.kernel_port}/)\nCtrl-C stops both.", flush=True)
        server.serve_forever()
    except KeyboardInterrupt:
        print("\nstopping")
    finally:
        server.server_close()
        jupyter.terminate()
        try:
            jupyter.wait(timeout=10)
        except subprocess.TimeoutExpired:
            jupyter.kill()
        print("Live Code settings stay in _build/html until the next `make book`.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
