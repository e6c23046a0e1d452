"""The web app where AMs act (issue 20), for real: `triage serve` (uvicorn) over a real nightly run of the
bundled sample, driven by headless Chromium (clicks) and by HTTP (what a browser would not send)."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.support.flowrun import home_config, night_copy, sample_night
from tests.support.web import Server, chromium, serve
from triage.web.auth import Signer

pytestmark = pytest.mark.slow

AS_OF = date(2026, 11, 20)
LUIS = ("blueriver", "fjord", "harbor", "alpenrose")  # Luis Romero's accounts on the sample's list
DANA = ("acme", "cedar")
FALSE_COMPLAINT = "The planning dashboard matched our own numbers again."


@pytest.fixture(scope="module")
def night(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sample_night(tmp_path_factory.mktemp("web-night"), AS_OF)


@pytest.fixture
def home(night: Path, tmp_path: Path) -> Path:
    return night_copy(night, tmp_path / "home")


@pytest.fixture
def server(home: Path) -> Iterator[Server]:
    with serve(home / "config.toml", home) as s:
        yield s


def _rows(home: Path, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    for attempt in range(50):  # the server may be writing a click this very moment
        try:
            con = duckdb.connect(str(home / "db" / "triage.duckdb"), read_only=True)
            break
        except duckdb.IOException:
            if attempt == 49:
                raise
            time.sleep(0.1)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def _cards(driver: WebDriver) -> dict[str, float]:
    """account id -> score shown, in the page's order."""
    return {c.get_attribute("data-account") or "": float(c.find_element(By.CSS_SELECTOR, ".score").text)
            for c in driver.find_elements(By.CSS_SELECTOR, "article.card")}


def _gone(element: Any) -> Callable[[WebDriver], bool]:
    """The page holding ``element`` was left (Chromium says so as a stale element or, mid-navigation, as
    "Node ... does not belong to the document")."""

    def left(_driver: WebDriver) -> bool:
        try:
            element.is_enabled()
        except WebDriverException:  # StaleElementReferenceException is one of them
            return True
        return False

    return left


def _submit(driver: WebDriver, button: Any) -> None:
    """Click a form's button and wait until the next page has loaded (a POST, then its redirect)."""
    page = driver.find_element(By.TAG_NAME, "html")
    button.click()
    WebDriverWait(driver, 60).until(_gone(page))
    WebDriverWait(driver, 60).until(lambda d: d.execute_script("return document.readyState") == "complete")


def _shots() -> Path | None:
    d = os.environ.get("TRIAGE_TEST_SCREENSHOTS")
    return Path(d) if d else None


def _screenshot(driver: WebDriver, tmp: Path, name: str) -> Path:
    path = (_shots() or tmp) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(path))
    assert path.stat().st_size > 10_000
    return path


def test_luis_signs_in_by_link_sees_his_accounts_and_acts_with_one_click(
    server: Server, home: Path, tmp_path: Path
) -> None:
    link = server.link("Luis Romero")
    with chromium() as driver:
        driver.get(link)
        assert driver.current_url.rstrip("/") == server.url  # the token left the address bar
        cards = _cards(driver)
        assert set(cards) == set(LUIS) and not set(cards) & set(DANA)
        assert "Signed in as Luis Romero" in driver.find_element(By.CSS_SELECTOR, ".whoami").text
        _screenshot(driver, tmp_path, "web-list-1280.png")

        # Not a problem on harbor's false complaint: the quoted sentence stops counting, the score drops
        harbor = driver.find_element(By.ID, "account-harbor")
        reason = next(li for li in harbor.find_elements(By.CSS_SELECTOR, "li.reason")
                      if FALSE_COMPLAINT in li.text)
        form = next(f for f in reason.find_elements(By.TAG_NAME, "form")
                    if f.find_element(By.NAME, "action").get_attribute("value") == "dismiss")
        dismissed = form.find_element(By.NAME, "signal").get_attribute("value")
        Select(form.find_element(By.NAME, "reason_code")).select_by_value("wrong_kind")
        _submit(driver, form.find_element(By.TAG_NAME, "button"))
        flash = driver.find_element(By.ID, "flash").text
        assert flash.startswith("Harbor Point Shipping: Not a problem.") and "It was #" in flash
        after = _cards(driver)
        assert after["harbor"] < cards["harbor"]
        assert dismissed not in driver.find_element(By.ID, "account-harbor").get_attribute("innerHTML")

        # Answered on one of fjord's open asks: closed by hand, the list is built again at once
        fjord = driver.find_element(By.ID, "account-fjord")
        asks_before = len(fjord.find_elements(By.CSS_SELECTOR, "li.ask"))
        _submit(driver, fjord.find_element(By.CSS_SELECTOR, "li.ask button[value=answered]"))
        assert driver.find_element(By.ID, "flash").text.startswith("Fjord Media: Answered.")
        fjord = driver.find_element(By.ID, "account-fjord")
        assert len(fjord.find_elements(By.CSS_SELECTOR, "li.ask")) == asks_before - 1
        assert _cards(driver)["fjord"] < after["fjord"]

        # Done with a note: off the list; Undo: back
        blue = driver.find_element(By.ID, "account-blueriver")
        blue.find_element(By.NAME, "note").send_keys("called Hannah, export fix on Monday")
        _submit(driver, blue.find_element(By.CSS_SELECTOR, "button[value=done]"))
        assert driver.find_element(By.ID, "flash").text.startswith("BlueRiver Health: Done: called.")
        assert "blueriver" not in _cards(driver)
        _submit(driver, driver.find_element(By.CSS_SELECTOR, "#flash button[value=undo]"))
        assert "blueriver" in _cards(driver)

        # Confirm a signal: marked, the list unchanged
        blue = driver.find_element(By.ID, "account-blueriver")
        _submit(driver, blue.find_element(By.CSS_SELECTOR, "li.reason button[value=confirm]"))
        assert "confirmed" in driver.find_element(By.ID, "account-blueriver").text

        # Snooze harbor: under "Snoozed" with a way back
        _submit(driver, driver.find_element(By.CSS_SELECTOR, "#account-harbor button[value=snooze]"))
        assert "harbor" not in _cards(driver)
        assert "Harbor Point Shipping" in driver.find_element(By.ID, "snoozed").text
        _submit(driver, driver.find_element(By.CSS_SELECTOR, "#snoozed button[value=undo]"))
        assert "harbor" in _cards(driver)

        # the account page: timeline with the actions, trend chart, evidence opens the message
        _submit(driver, driver.find_element(By.CSS_SELECTOR, "#account-harbor h2 a"))
        assert driver.current_url.endswith("/accounts/harbor")
        page = driver.find_element(By.TAG_NAME, "body").text
        assert "not a problem (wrong kind)" in page and "snoozed until" in page
        assert driver.find_elements(By.CSS_SELECTOR, "svg.trend")
        _screenshot(driver, tmp_path, "web-account-1280.png")
        _submit(driver, driver.find_element(By.CSS_SELECTOR, "a.evidence-link"))
        assert "/signals/" in driver.current_url and driver.find_element(By.TAG_NAME, "h1").text

        # another AM's account does not exist for Luis
        driver.get(f"{server.url}/accounts/acme")
        assert driver.find_element(By.TAG_NAME, "h1").text == "Not found"

    # every click recorded once, with who and when; the undone ones marked
    rows = _rows(home, "SELECT action, account_id, author, undone_at IS NOT NULL FROM feedback ORDER BY created_at")
    assert [(a, acc) for a, acc, _, _ in rows] == [
        ("dismiss", "harbor"), ("answered", "fjord"), ("done", "blueriver"), ("undo", "blueriver"),
        ("confirm", "blueriver"), ("snooze", "harbor"), ("undo", "harbor")]
    assert {r[2] for r in rows} == {"Luis Romero"}
    assert [r[0] for r in rows if r[3]] == ["done", "snooze"]
    notes = _rows(home, "SELECT reason FROM feedback WHERE action = 'done'")
    assert notes == [("called Hannah, export fix on Monday",)]


def test_the_list_and_account_pages_at_phone_width(server: Server, tmp_path: Path) -> None:
    with chromium(390, 844) as driver:
        driver.get(server.link("Luis Romero"))
        width = driver.execute_script("return document.documentElement.scrollWidth")
        assert width <= 390  # nothing runs off the side
        _screenshot(driver, tmp_path, "web-list-390.png")
        driver.get(f"{server.url}/accounts/fjord")
        assert driver.execute_script("return document.documentElement.scrollWidth") <= 390
        _screenshot(driver, tmp_path, "web-account-390.png")


# ---- what a browser would not send: HTTP ---------------------------------------------------------------

def _signed_in(server: Server, am: str = "Luis Romero", link: str | None = None) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=server.url, follow_redirects=False, timeout=30)
    r = client.get((link or server.link(am)).removeprefix(server.url))
    assert r.status_code == 303 and "triage_session" in r.headers.get("set-cookie", "")
    assert "httponly" in r.headers["set-cookie"].lower() and "samesite=lax" in r.headers["set-cookie"].lower()
    page = client.get("/")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert page.status_code == 200 and token
    return client, token.group(1)


def test_need_to_know_csrf_and_links_over_http(server: Server, home: Path) -> None:
    link = server.link("Luis Romero")
    client, csrf = _signed_in(server, link=link)
    acme_signal = _rows(home, "SELECT signal_id FROM signals WHERE account_id = 'acme' LIMIT 1")[0][0]
    harbor = "harbor"
    # another AM's account: 404 for pages, sources and actions alike
    assert client.get("/accounts/acme").status_code == 404
    assert client.get(f"/signals/{acme_signal}/source").status_code == 404
    assert client.post("/actions", data={"csrf": csrf, "action": "done", "account": "acme"}).status_code == 404
    # a form that names his account and Dana's signal: refused when applied, nothing recorded
    forged = client.post("/actions", data={"csrf": csrf, "action": "dismiss", "account": harbor,
                                           "signal": acme_signal, "reason_code": "wrong_kind"})
    assert forged.status_code == 409 and "not of account harbor" in forged.text
    # CSRF: missing or forged token
    assert client.post("/actions", data={"action": "done", "account": harbor}).status_code == 403
    assert client.post("/actions", data={"csrf": "0" * 64, "action": "done", "account": harbor}).status_code == 403
    # nothing changes state on GET
    assert client.get("/actions").status_code == 405
    assert _rows(home, "SELECT count(*) FROM feedback") == [(0,)]

    anon = httpx.Client(base_url=server.url, follow_redirects=False, timeout=30)
    assert anon.get("/").status_code == 401
    token = link.split("t=")[1]
    forged_link = anon.get(f"/login?t={token[:-3]}abc")
    assert forged_link.status_code == 403 and "not one of ours" in forged_link.text
    secret = server.env["TRIAGE_SERVE_SECRET"]
    expired, _ = Signer(secret).link("luis@northwind.example", -1)
    r = anon.get("/login", params={"t": expired})
    assert r.status_code == 403 and "expired" in r.text and "Traceback" not in r.text
    stranger, _ = Signer(secret).link("eve@elsewhere.example", 3600)
    assert anon.get("/login", params={"t": stranger}).status_code == 403
    # signing out ends the session and the link: reusing it gets a clear page
    out = client.post("/logout", data={"csrf": csrf})
    assert out.status_code == 200 and "signed out" in out.text.lower()
    client.cookies.clear()
    again = client.get(f"/login?t={token}")
    assert again.status_code == 403 and "You signed out with this link" in again.text
    # an open redirect is not one
    ok, _ = Signer(secret).link("luis@northwind.example", 3600)
    r = anon.get("/login", params={"t": ok, "next": "//evil.example/x"})
    assert r.status_code == 303 and r.headers["location"] == "/"


def test_proxy_header_only_from_a_trusted_proxy(home: Path) -> None:
    cfg = home_config(home, '[serve]\nproxy_header = "X-Forwarded-Email"\ntrusted_proxies = ["10.0.0.0/8"]\n'
                            'managers = ["mgr@northwind.example"]\n')
    with serve(cfg, home) as s:
        untrusted = httpx.get(f"{s.url}/", headers={"X-Forwarded-Email": "luis@northwind.example"}, timeout=30)
        assert untrusted.status_code == 401  # 127.0.0.1 is not the proxy: the header is not believed
        log = s.log.read_text()
    assert "ignored the X-Forwarded-Email header from 127.0.0.1" in log
    cfg = home_config(home, '[serve]\nproxy_header = "X-Forwarded-Email"\ntrusted_proxies = ["127.0.0.1"]\n'
                            'managers = ["mgr@northwind.example"]\n')
    with serve(cfg, home) as s:
        luis = httpx.get(f"{s.url}/", headers={"X-Forwarded-Email": "Luis@Northwind.example"}, timeout=30)
        assert luis.status_code == 200 and 'data-account="harbor"' in luis.text
        assert 'data-account="acme"' not in luis.text
        mgr = httpx.get(f"{s.url}/", headers={"X-Forwarded-Email": "mgr@northwind.example"}, timeout=30)
        assert 'data-account="acme"' in mgr.text and 'data-account="harbor"' in mgr.text
        assert "Signals from senders of no known account" in mgr.text  # the manager's view
        eve = httpx.get(f"{s.url}/", headers={"X-Forwarded-Email": "eve@northwind.example"}, timeout=30)
        assert eve.status_code == 403
        # the proxy's user still needs the CSRF token of the page
        r = httpx.post(f"{s.url}/actions", headers={"X-Forwarded-Email": "luis@northwind.example"},
                       data={"action": "done", "account": "harbor"}, timeout=30)
        assert r.status_code == 403


def test_the_server_logs_no_token_no_key_and_no_client_text(server: Server, home: Path) -> None:
    client, csrf = _signed_in(server)
    client.post("/actions", data={"csrf": csrf, "action": "done", "account": "harbor",
                                  "note": "Noah says the dashboards are fine now"})
    client.get("/accounts/harbor")
    token = server.link("Luis Romero").split("t=")[1]
    httpx.get(f"{server.url}/login", params={"t": token}, timeout=30)
    time.sleep(0.5)
    log = server.log.read_text()
    assert "GET /login 303" in log and "POST /actions 303" in log  # the access log is on (-v)
    for secret in (token, server.env["TRIAGE_SERVE_SECRET"], csrf, "dashboards are fine", FALSE_COMPLAINT,
                   "Noah Fischer"):
        assert secret not in log


def test_the_digest_carries_a_sign_in_link_that_opens_the_list(server: Server, home: Path) -> None:
    home_config(home, '[digest]\nenabled = true\nfrom_addr = "triage@northwind.example"\n'
                      f'[serve]\nbase_url = "{server.url}"\n')
    out = server.cli("digest", "--dry-run")
    assert out.returncode == 0, out.stderr
    luis = out.stdout.split("=== to luis@northwind.example")[1].split("=== to ")[0]
    links = re.findall(r"(http://127\.0\.0\.1:\d+/login\?\S+)", luis)
    assert links and all("next=%2Faccounts%2F" in u for u in links[1:])  # the list, then each account
    assert len({u.split("t=")[1].split("&")[0] for u in links}) == 1  # one token per AM and digest
    client = httpx.Client(follow_redirects=False, timeout=30)
    r = client.get(links[1])
    assert r.status_code == 303 and r.headers["location"].startswith("/accounts/")
    page = client.get(f"{server.url}{r.headers['location']}")
    assert page.status_code == 200 and "Timeline, newest first" in page.text
    dana = out.stdout.split("=== to dana@northwind.example")[1].split("=== to ")[0]
    dana_link = re.findall(r"(http://127\.0\.0\.1:\d+/login\?\S+)", dana)[0]
    assert httpx.Client(follow_redirects=True, timeout=30).get(dana_link).text.count('data-account="acme"') == 1


def test_the_list_shows_the_first_open_asks_and_links_to_the_account_page_for_the_rest(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long list of open asks stays on the account page: the list card shows the first ones (overdue
    and client asks first) and says how many more there are."""
    from markupsafe import escape

    from triage.publish.html import render_page
    from triage.settings import load_settings
    from triage.web.auth import resolve_user
    from triage.web.state import WebApp
    from triage.web.views import load_list_page

    monkeypatch.setenv("TRIAGE_SERVE_SECRET", "s" * 40)
    state = WebApp(load_settings(home / "config.toml"))
    luis = resolve_user("Luis Romero", state.directory().ams, [])
    assert luis is not None
    page = load_list_page(state.db, luis, 90)
    blueriver = next(e for e in page.entries if e.account_id == "blueriver")
    assert len(blueriver.open_asks) == 3
    html = render_page(page.entries, as_of=AS_OF, org_name="Northwind", run=page.run, unknown=[], heading="h",
                       trends=page.trends, env=state.env, generated_at=page.loaded_at,
                       web=state.web_context(luis, "session:x", page.marks, [], None, asks_on_list=1))
    card = html[html.index('id="account-blueriver"'):]
    card = card[:card.index("</article>")]
    assert card.count('<li class="ask') == 1
    assert '<a href="/accounts/blueriver#asks">2 more on the account page</a>' in card
    asks = card[card.index('<ul class="asks">'):]
    assert str(escape(blueriver.open_asks[0].text)) in asks
    assert all(str(escape(a.text)) not in asks for a in blueriver.open_asks[1:])
