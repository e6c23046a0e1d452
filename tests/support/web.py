"""The web app for real in tests: a `triage serve` subprocess on a free port, and headless Chromium driven
by Selenium through Debian's chromedriver (no browser download: Selenium Manager is told to stay offline)."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.support.privacy import REPO, cli_env

__all__ = ["Server", "chromium", "free_port", "serve"]

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, config: Path, port: int, env: dict[str, str], log: Path) -> None:
        self.config, self.port, self.env, self.log = config, port, env, log
        self.url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def cli(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "triage", "--config", str(self.config), *args], env=self.env,
                              cwd=REPO, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)

    def link(self, am: str, *extra: str) -> str:
        out = self.cli("link", "--am", am, *extra)
        assert out.returncode == 0, out.stderr
        return out.stdout.strip().replace(self.env["BASE_URL"], self.url)

    def start(self) -> None:
        with self.log.open("ab") as fh:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "triage", "-v", "--config", str(self.config), "serve", "--port", str(self.port)],
                env=self.env, cwd=REPO, stdout=fh, stderr=fh, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"triage serve exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError("triage serve did not come up")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@contextmanager
def serve(config: Path, home: Path, extra_env: dict[str, str] | None = None) -> Iterator[Server]:
    """`triage serve` over ``config`` on a free port, with a fresh secret; stopped afterwards."""
    port = free_port()
    env = cli_env(None)
    env["TRIAGE_SERVE_SECRET"] = secrets.token_urlsafe(40)
    env["PREFECT_HOME"] = str(home / "prefect")
    env["BASE_URL"] = "http://127.0.0.1:8765"
    env.update(extra_env or {})
    server = Server(config, port, env, home / f"serve-{port}.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def chromium(width: int = 1280, height: int = 900) -> Iterator[object]:
    """Headless Chromium (Debian's) driven by Debian's chromedriver."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must never fetch a driver or a browser
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                f"--window-size={width},{height}", "--no-first-run", "--disable-extensions",
                "--disable-background-networking", "--disable-component-update", "--disable-sync"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    # a headless window is at least ~500 px wide: a phone's width is emulated, as devtools does
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600})
    try:
        yield driver
    finally:
        driver.quit()
