"""The HTML page in a real headless Chromium (Debian package): order, evidence, escaping, no network.

Chromium runs with every request sent to a local "proxy" that only records the requested host: a
control page with one remote image proves the trap catches a page's requests; our page must cause
none. Debian's Chromium keeps calling its own services (network time, component updates, account
checks) whatever the flags, so requests to those Google hosts are set aside.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import struct
import subprocess
import threading
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from tests.support.score_seed import STORY_AS_OF, seed_story
from triage.db import Database
from triage.publish import write_html
from triage.publish.html import link_label, safe_href
from triage.score import build_call_list
from triage.settings import Settings

AS_OF = STORY_AS_OF
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
EVIL = '<script>alert("x")</script><img src="http://evil.example/pixel.png"> it broke & we are "angry"'


_BROWSER_SERVICES = re.compile(r"(^|\.)(google\.com|googleapis\.com|gvt1\.com|gstatic\.com)$")


class ProxyTrap:
    """A TCP listener standing in for an HTTP proxy: records what is requested, answers 403."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.hits: list[bytes] = []
        self._stop = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                try:
                    self.hits.append(conn.recv(4096))
                    conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                except OSError:
                    self.hits.append(b"")

    def hosts(self) -> set[str]:
        """Hosts requested (``CONNECT host:443`` or ``GET http://host/...``), browser services excluded."""
        out = set()
        for hit in self.hits:
            target = hit.split(b"\r\n", 1)[0].decode("latin-1").split(" ")[1:2]
            host = re.sub(r"^[a-z]+://", "", target[0]).split("/")[0].rsplit(":", 1)[0] if target else "?"
            if not _BROWSER_SERVICES.search(host):
                out.add(host)
        return out

    def close(self) -> None:
        self._stop = True
        self.sock.close()
        self._thread.join(timeout=5)


@pytest.fixture
def trap() -> Iterator[ProxyTrap]:
    t = ProxyTrap()
    yield t
    t.close()


def chromium(
    page: Path, tmp: Path, trap: ProxyTrap, *, mode: str = "--dump-dom", size: str = "1280,900"
) -> str:
    if CHROMIUM is None:  # `make test` installs it (scripts/setup.sh --test)
        pytest.fail("chromium is not installed: apt-get install -y chromium")
    profile = tmp / f"profile-{mode.strip('-')}"
    cmd = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-default-apps",
        "--disable-extensions",
        "--metrics-recording-only",
        "--no-default-browser-check",
        f"--user-data-dir={profile}",
        f"--proxy-server=http://127.0.0.1:{trap.port}",
        "--proxy-bypass-list=<-loopback>",
        f"--window-size={size}",
        mode,
        page.as_uri(),
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=tmp, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


@pytest.fixture
def page(db: Database, make_settings: Callable[..., Settings], tmp_path: Path) -> Path:
    keys = seed_story(db)
    seeder = keys["seeder"]
    seeder.account("quirk", "Quirk <Labs> & Co", tier="smb", arr=5_000)
    m = seeder.message("quirk", "2026-11-19 10:00", sender="ann@quirk.example")
    seeder.signal("frustration", m, "quirk", "2026-11-19 10:00", EVIL, score=0.9, link="javascript:alert(1)")
    settings = make_settings('[org]\nname = "Northwind Analytics"\n[output]\nhtml_path = "site/today.html"\n')
    build_call_list(settings, db, AS_OF, "run-1")
    path = Path(write_html(settings, db, AS_OF))
    assert path == tmp_path / "site" / "today.html"
    return path


def test_links_are_allow_listed_and_labelled() -> None:
    assert safe_href("file:///mail/x.eml") == "file:///mail/x.eml"
    assert safe_href("imap://mail.example/INBOX;UID=4") == "imap://mail.example/INBOX;UID=4"
    assert safe_href("javascript:alert(1)") is None and safe_href("data:text/html,hi") is None
    assert safe_href(None) is None and safe_href("") is None
    assert link_label("file:///t/a.vtt#t=725", "meeting") == "open transcript at 12:05"
    assert link_label("file:///t/a.vtt#t=3725", "meeting") == "open transcript at 1:02:05"
    assert link_label("file:///m.eml", "email") == "open message"


def test_page_is_self_contained_and_escaped(page: Path) -> None:
    html = page.read_text(encoding="utf-8")
    soup = BeautifulSoup(html, "html.parser")
    assert soup.find("script") is None and soup.find("link") is None and soup.find("iframe") is None
    assert not soup.select("[src]") and "url(" not in html
    assert (
        "default-src 'none'" in soup.find("meta", attrs={"http-equiv": "Content-Security-Policy"})["content"]
    )
    hrefs = [a["href"] for a in soup.find_all("a")]
    assert hrefs and all(h.startswith("file:///") for h in hrefs)
    assert "javascript:" not in html
    assert EVIL in soup.get_text() and "Quirk <Labs> & Co" in soup.get_text()


@pytest.mark.slow
def test_chromium_renders_the_accounts_in_order_without_network(
    page: Path, tmp_path: Path, trap: ProxyTrap
) -> None:
    # the trap works: a page with one remote image makes Chromium connect to it
    control = tmp_path / "control.html"
    control.write_text('<!doctype html><img src="http://example.invalid/pixel.png"><p>control</p>')
    chromium(control, tmp_path, trap)
    assert trap.hosts() == {"example.invalid"}, "the trap did not see the control page's request"
    trap.hits.clear()

    dom = BeautifulSoup(chromium(page, tmp_path, trap), "html.parser")
    assert trap.hosts() == set(), f"the page made network requests: {trap.hits[:3]}"
    cards = dom.select("article.card")
    assert [c["data-account"] for c in cards][:4] == ["acme", "blueriver", "cedar", "fjord"]
    assert [int(c["data-rank"]) for c in cards] == list(range(1, len(cards) + 1))
    acme = cards[0]
    assert acme.h2.get_text() == "Acme Logistics" and "Dana Whitfield" in acme.select_one(".meta").get_text()
    quotes = [q.get_text() for q in acme.select("blockquote.evidence")]
    assert any("We are now evaluating other vendors" in q for q in quotes)
    assert acme.select("ul.asks li.overdue") and "8 business days" in acme.select_one("ul.asks").get_text()
    assert [li.get_text().split(":")[0] for li in acme.select(".brief li")] == [
        "Acknowledge",
        "Explain",
        "Resolve",
        "Commit",
    ]
    links = [a["href"] for a in acme.select("a.evidence-link")]
    assert any(h.startswith("file:///mail/") for h in links)
    assert any("#t=" in h for h in links)  # a transcript moment
    assert "Friday 20 November 2026" in dom.select_one("header").get_text()
    assert "kevin.marsh@globex-partners.example" in dom.select_one("#unknown-senders").get_text()
    quirk = dom.select_one('article[data-account="quirk"]')
    assert quirk is not None and quirk.find("script") is None and quirk.find("img") is None
    assert EVIL in quirk.get_text()


@pytest.mark.slow
def test_chromium_screenshot_at_phone_width(page: Path, tmp_path: Path, trap: ProxyTrap) -> None:
    shot = tmp_path / "phone.png"
    chromium(page, tmp_path, trap, mode=f"--screenshot={shot}", size="390,844")
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (390, 844)
    assert trap.hosts() == set()


def test_each_card_has_its_weekly_trend_chart(page: Path, db: Database) -> None:
    from triage.publish.trend import load_trends

    trends = load_trends(db, ["acme", "harbor"], AS_OF)
    acme = trends["acme"]
    assert len(acme.weeks) == 13 and acme.weeks[-1] == date(2026, 11, 16)  # the week of as_of, a Monday
    # acme's frustration: the 10 Nov meeting and the 13 Nov mail; then the 16 and 18 Nov mails
    assert acme.counts["frustration"][-2:] == [2, 2]
    assert acme.counts["ask"][-2:] == [2, 1] and sum(acme.counts["buying_signal"]) == 0
    assert all(sum(c) == 0 for c in trends["harbor"].counts.values())  # quiet: an empty chart

    soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
    cards = soup.select("article.card")
    assert cards and all(c.select_one("svg.trend") is not None for c in cards)
    svg = soup.select_one('article[data-account="acme"] svg.trend')
    assert svg is not None and svg.find("script") is None and not svg.select("[href], [src]")
    assert len(svg.select("rect.tr-now")) == 1 and svg.select_one(".tr-now-label").get_text() == "this week"
    bars = svg.select("rect.tr-bar")
    assert {b["class"][1] for b in bars} >= {"tr-frustration", "tr-ask"}
    tips = [b.title.get_text() for b in bars]
    assert "week of 16 Nov: 2 frustration" in tips and "week of 09 Nov: 2 asks" in tips
    assert svg.title.get_text().startswith("Weekly signals since 24 Aug, this week marked: 4 frustration")


@pytest.mark.slow
def test_chromium_draws_the_trend_charts_at_desktop_and_phone_width(
    page: Path, tmp_path: Path, trap: ProxyTrap
) -> None:
    dom = BeautifulSoup(chromium(page, tmp_path, trap), "html.parser")
    assert len(dom.select("article.card svg.trend")) == len(dom.select("article.card"))
    for name, size in (("desktop", "1280,900"), ("phone", "390,844")):
        shot = tmp_path / f"trend-{name}.png"
        chromium(page, tmp_path, trap, mode=f"--screenshot={shot}", size=size)
        data = shot.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        assert struct.unpack(">II", data[16:24]) == tuple(int(v) for v in size.split(","))
        keep = Path(os.environ.get("TRIAGE_SCREENSHOT_DIR", tmp_path))
        if keep != tmp_path:
            keep.mkdir(parents=True, exist_ok=True)
            shutil.copy(shot, keep / shot.name)
    assert trap.hosts() == set()
