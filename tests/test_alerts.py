"""Same-day escalations over a real SMTP server on loopback (aiosmtpd): one mail per new signal, ever."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from flows.deploy import ALERTS_DEPLOYMENT_NAME, build_alerts_deployment
from tests.support.score_seed import Seeder
from tests.support.smtp import SmtpServer
from triage.db import Database
from triage.publish.alerts import find_new_alerts, in_quiet_hours, send_alerts
from triage.score.feedback import dismiss_signal
from triage.settings import Settings

DANA, LUIS = "dana@northwind.example", "luis@northwind.example"
NOW = datetime(2026, 11, 18, 16, 0, tzinfo=UTC)  # a Wednesday afternoon


def _config(srv: SmtpServer, alerts: str = "") -> str:
    return (
        '[org]\nname = "Northwind Analytics"\n'
        f'[digest]\nsmtp_host = "127.0.0.1"\nsmtp_port = {srv.port}\nsecurity = "plain"\nallow_plaintext = true\n'
        'from_addr = "triage@northwind.example"\ntimeout_seconds = 10\n'
        f"[alerts]\nenabled = true\n{alerts}"
    )


@pytest.fixture
def seeded(db: Database) -> Seeder:
    seed = Seeder(db)
    seed.account("north", "North Co", tier="enterprise", arr=200_000)  # Dana
    seed.account("south", "South Co", tier="growth", am="Luis Romero", am_email=LUIS)
    old = seed.message("north", "2026-11-06 10:00")  # a churn threat from last week: not news any more
    seed.signal("frustration", old, "north", "2026-11-06 10:00", "We will look at other vendors.", score=0.95,
                subtype="churn_threat")
    mild = seed.message("north", "2026-11-18 09:00")  # enterprise, but not strong
    seed.signal("frustration", mild, "north", "2026-11-18 09:00", "A bit annoying.", score=0.5)
    strong = seed.message("south", "2026-11-18 10:00")  # strong, but a growth account
    seed.signal("frustration", strong, "south", "2026-11-18 10:00", "This is infuriating.", score=0.9)
    return seed


def test_one_mail_for_a_new_churn_threat_and_none_on_rerun(
    db: Database, seeded: Seeder, make_settings: Callable[..., Settings]
) -> None:
    with SmtpServer() as srv:
        settings = make_settings(_config(srv))
        assert send_alerts(settings, db, now=NOW).mailed == 0 and srv.messages == []

        m = seeded.message("north", "2026-11-18 15:30", sender="priya@north.example", subject="Renewal")
        sid = seeded.signal("frustration", m, "north", "2026-11-18 15:30",
                            "If this isn't fixed by Friday we will not renew.", score=0.95, subtype="churn_threat",
                            speaker="priya@north.example")
        result = send_alerts(settings, db, now=NOW)
        assert result.sent == {DANA: [sid]}
        (got,) = srv.messages
        msg = got.message
        assert got.rcpt_tos == (DANA,) and msg["Subject"] == "[triage alert] North Co: churn threat"
        assert msg["Auto-Submitted"] == "auto-generated" and msg["X-Triage-Signals"] == sid
        text = msg.get_content()
        assert text.startswith("Hi Dana,") and '"If this isn\'t fixed by Friday we will not renew."' in text
        assert f"open message: file:///mail/{m[0]}.eml" in text and f"triage dismiss {sid}" in text

        # the next hourly run, and the one after: nothing new, nothing mailed
        assert send_alerts(settings, db, now=NOW.replace(hour=17)).mailed == 0
        assert send_alerts(settings, db, now=NOW.replace(hour=18)).mailed == 0
        assert len(srv.messages) == 1
    with db.read() as con:
        assert con.execute("SELECT signal_id, recipient, reason FROM alert_log").fetchall() == [
            (sid, DANA, "churn threat")
        ]


def test_strong_frustration_at_enterprise_quiet_hours_and_dismissed(
    db: Database, seeded: Seeder, make_settings: Callable[..., Settings]
) -> None:
    with SmtpServer() as srv:
        settings = make_settings(_config(srv, 'timezone = "Europe/Madrid"\n'))  # quiet 19:00-07:00 local
        evening = datetime(2026, 11, 18, 19, 30, tzinfo=UTC)  # 20:30 in Madrid
        m = seeded.message("north", "2026-11-18 19:10")
        strong = seeded.signal("frustration", m, "north", "2026-11-18 19:10", "This is a disaster.", score=0.85)
        wrong = seeded.signal("frustration", m, "north", "2026-11-18 19:10", "I'll escalate.", score=0.9,
                              subtype="escalation")
        assert in_quiet_hours(settings.alerts, evening)
        held = send_alerts(settings, db, now=evening)
        assert sorted(held.held) == sorted([strong, wrong]) and srv.messages == []
        dismiss_signal(db, wrong, reason="quoting their own helpdesk", now=evening)
        morning = datetime(2026, 11, 19, 7, 5, tzinfo=UTC)  # 08:05 in Madrid
        assert not in_quiet_hours(settings.alerts, morning)
        result = send_alerts(settings, db, now=morning)
        assert result.sent == {DANA: [strong]}  # the dismissed one never goes out
        assert srv.messages[0].message["Subject"] == "[triage alert] North Co: strong frustration"
        # a second AM's new churn threat goes to that AM only
        s = seeded.message("south", "2026-11-19 08:00")
        churn = seeded.signal("frustration", s, "south", "2026-11-19 08:00", "We are moving to a competitor.",
                              score=0.95, subtype="churn_threat")
        assert send_alerts(settings, db, now=morning.replace(hour=9)).sent == {LUIS: [churn]}
        assert [r.rcpt_tos for r in srv.messages] == [(DANA,), (LUIS,)]
    assert find_new_alerts(db, settings.alerts, morning.replace(hour=10)) == []


def test_the_escalation_deployment_runs_hourly_in_business_hours(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings('[alerts]\nenabled = true\ncron = "0 8-18 * * 1-5"\ntimezone = "Europe/Madrid"\n')
    dep = build_alerts_deployment(settings)
    assert dep.name == ALERTS_DEPLOYMENT_NAME and dep.flow_name == "escalation_watch"
    (schedule,) = dep.schedules
    assert schedule.schedule.cron == "0 8-18 * * 1-5" and schedule.schedule.timezone == "Europe/Madrid"
    assert dep.parameters == {"config_path": str(settings.config_file)}


@pytest.mark.slow
def test_the_escalation_watch_flow_on_the_sample_mails_once(tmp_path: Path) -> None:
    """The hourly flow for real: ingest, parse and detect the bundled sample, then mail the AMs; the
    next run mails nothing."""
    from flows.escalations import escalation_watch
    from tests.support.flowrun import sample_config

    now = datetime(2026, 11, 19, 15, 0, tzinfo=UTC)  # the day after the sample's churn threat
    with SmtpServer() as srv:
        cfg = sample_config(tmp_path, extra=_config(srv).split("\n", 2)[2])  # [digest] + [alerts]
        first = escalation_watch(config_path=str(cfg), now=now)
        assert first["fetched"] > 0 and srv.messages
        mailed = [m.message["X-Triage-Signals"] for m in srv.messages]
        db = Database(tmp_path / "triage.duckdb")
        with db.read() as con:
            rows = con.execute(
                "SELECT s.signal_id, s.subtype, s.intensity, a.tier, s.sentence FROM alert_log l "
                "JOIN signals s USING (signal_id) JOIN accounts a ON a.account_id = s.account_id"
            ).fetchall()
        assert sorted(r[0] for r in rows) == sorted(x for m in mailed for x in m.split(","))
        for _sid, subtype, intensity, tier, _sentence in rows:
            assert subtype in ("churn_threat", "escalation") or (
                tier in ("strategic", "enterprise") and intensity >= 0.8
            )
        assert any("other vendors" in r[4] for r in rows)  # acme's churn threat of 2026-11-18

        again = escalation_watch(config_path=str(cfg), now=now.replace(hour=16))
        assert again["fetched"] == 0 and len(srv.messages) == len(mailed)
