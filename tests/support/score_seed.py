"""Seed the tables other stages write (accounts, messages, transcripts, signals) with realistic rows.

Scoring and publishing tests use these on the real ``db`` fixture instead of running ingest, parse
and the NLP detectors: each helper inserts exactly what that stage would store.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import duckdb

from triage.db import Database
from triage.types import stable_id

__all__ = ["Seeder", "ts"]


def ts(text: str) -> datetime:
    """'2026-11-16 09:12' -> aware UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@dataclass
class Seeder:
    db: Database
    our_domain: str = "northwind.example"
    created_at: datetime = field(default_factory=lambda: ts("2026-11-20 05:30"))
    _n: int = 0
    _active: duckdb.DuckDBPyConnection | None = None

    @contextmanager
    def batch(self) -> Iterator[Seeder]:
        """Insert everything inside the block in one transaction (fast seeding)."""
        with self.db.write() as batch_con:
            self._active = batch_con
            try:
                yield self
            finally:
                self._active = None

    @contextmanager
    def _write(self) -> Iterator[duckdb.DuckDBPyConnection]:
        if self._active is not None:
            yield self._active
        else:
            with self.db.write() as one:
                yield one

    def account(
        self,
        account_id: str,
        name: str,
        *,
        tier: str = "growth",
        arr: float = 50_000,
        am: str = "Dana Whitfield",
        am_email: str = "dana@northwind.example",
        contacts: list[tuple[str, str]] | None = None,
    ) -> str:
        domain = f"{account_id}.example"
        with self._write() as con:
            con.execute(
                "INSERT INTO accounts VALUES (?, ?, ?, ?, ?, ?, ?, now())",
                [account_id, name, [domain], am, am_email, tier, arr],
            )
            for email, person in contacts or []:
                con.execute(
                    "INSERT INTO contacts VALUES (?, ?, ?, NULL)", [email.lower(), account_id, person]
                )
        return account_id

    def message(
        self,
        account_id: str | None,
        sent_at: str,
        *,
        direction: str = "inbound",
        thread: str | None = None,
        sender: str | None = None,
        subject: str = "Re: status",
        text: str = "",
        to: list[str] | None = None,
        language: str | None = None,
    ) -> tuple[str, str]:
        """Insert a parsed message; returns (message_key, thread_id). thread=None starts a new thread."""
        self._n += 1
        key = stable_id("msg", self._n, sent_at, account_id)
        thread_id = thread or key
        if sender is None:
            sender = f"client@{account_id}.example" if direction == "inbound" else f"dana@{self.our_domain}"
        with self._write() as con:
            con.execute(
                """INSERT INTO messages (message_key, message_id, thread_id, subject, from_addr, to_addrs,
                       sent_at, direction, account_id, body_text, new_text, link, parsed_at, parser_version,
                       language)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, now(), 'test', ?)""",
                [
                    key,
                    f"<{key}@test>",
                    thread_id,
                    subject,
                    sender,
                    to or [],
                    ts(sent_at),
                    direction,
                    account_id,
                    text,
                    text,
                    f"file:///mail/{key}.eml",
                    language,
                ],
            )
            con.execute(
                """INSERT INTO threads VALUES (?, ?, ?, ?, ?, 1)
                   ON CONFLICT (thread_id) DO UPDATE SET last_at = excluded.last_at,
                       message_count = threads.message_count + 1""",
                [thread_id, subject, account_id, ts(sent_at), ts(sent_at)],
            )
        return key, thread_id

    def meeting(
        self,
        account_id: str,
        meeting_at: str,
        turns: list[tuple[str, str, str]],
        *,
        title: str = "Weekly sync",
        languages: list[str] | None = None,
    ) -> str:
        """Insert a transcript; turns are (speaker, role client|internal, text), ``languages`` one per turn.
        Returns transcript_key."""
        self._n += 1
        key = stable_id("meeting", self._n, meeting_at, account_id)
        with self._write() as con:
            con.execute(
                "INSERT INTO transcripts VALUES (?, ?, 'vtt', ?, ?, ?, ?, ?, now(), 'test')",
                [
                    key,
                    f"/t/{account_id}/{key}.vtt",
                    title,
                    ts(meeting_at),
                    account_id,
                    len(turns),
                    f"file:///t/{account_id}/{key}.vtt",
                ],
            )
            for i, (speaker, role, text) in enumerate(turns):
                con.execute(
                    "INSERT INTO utterances (transcript_key, seq, speaker, role, start_s, end_s, text, language)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [key, i, speaker, role, i * 30.0, i * 30.0 + 25, text, languages[i] if languages else None],
                )
        return key

    def signal(
        self,
        kind: str,
        source: tuple[str, str] | str,
        account_id: str | None,
        occurred_at: str,
        sentence: str,
        *,
        party: str = "client",
        score: float = 0.9,
        intensity: float | None = None,
        subtype: str | None = None,
        due_date: date | None = None,
        source_type: str | None = None,
        speaker: str | None = None,
        created_at: datetime | None = None,
        start_s: float | None = None,
        link: Any = "auto",
    ) -> str:
        """Insert a detector hit. ``source`` is (message_key, thread_id) for mail or a transcript_key."""
        self._n += 1
        if isinstance(source, tuple):
            source_key, thread_id = source
            stype = source_type or "email"
        else:
            source_key, thread_id = source, None
            stype = source_type or "meeting"
        if kind == "frustration" and intensity is None:
            intensity = score
        sid = stable_id(stype, source_key, self._n, kind)
        if link == "auto":
            link = (
                f"file:///mail/{source_key}.eml"
                if stype == "email"
                else f"file:///t/{source_key}.vtt#t={int(start_s or 0)}"
            )
        with self._write() as con:
            con.execute(
                """INSERT INTO signals (signal_id, kind, subtype, score, intensity, sentence, sentence_idx,
                       source_type, source_key, utterance_seq, start_s, thread_id, account_id, speaker, party,
                       occurred_at, due_date, rules, detector, detector_version, link, created_at, run_id)
                   VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, NULL, ?, ?, ?, ?, ?, ?, ?, [], ?, ?, ?, ?, 'seed')""",
                [
                    sid,
                    kind,
                    subtype,
                    score,
                    intensity,
                    sentence,
                    stype,
                    source_key,
                    start_s,
                    thread_id,
                    account_id,
                    speaker
                    or (f"client@{account_id}.example" if party == "client" else "dana@northwind.example"),
                    party,
                    ts(occurred_at),
                    due_date,
                    f"{kind}.v1",
                    f"{kind}.v1-test",
                    link,
                    created_at or self.created_at,
                ],
            )
        return sid


# The bundled sample (triage/sample_data, see EXPECTED.md) as the later stages store it: the messages,
# meetings and the signals the detectors are expected to find. Times are UTC.
STORY_AS_OF = date(2026, 11, 20)


def seed_story(db: Database) -> dict[str, Any]:
    """Seed the sample's eight accounts and one unknown sender; returns the keys of interesting rows."""
    s = Seeder(db)
    with s.batch():
        return _story(s)


def _story(s: Seeder) -> dict[str, Any]:
    dana, luis = ("Dana Whitfield", "dana@northwind.example"), ("Luis Romero", "luis@northwind.example")
    for acc, name, tier, arr, (am, am_email), contacts in [
        (
            "acme",
            "Acme Logistics",
            "enterprise",
            180_000,
            dana,
            [
                ("priya.shah@acme-logistics.example", "Priya Shah"),
                ("tom.becker@acme-logistics.example", "Tom Becker"),
            ],
        ),
        (
            "blueriver",
            "BlueRiver Health",
            "growth",
            60_000,
            luis,
            [
                ("hannah.cole@blueriver-health.example", "Hannah Cole"),
                ("raj.patel@blueriver-health.example", "Raj Patel"),
            ],
        ),
        (
            "cedar",
            "Cedar & Pine Retail",
            "growth",
            45_000,
            dana,
            [("marco.rossi@cedarpine.example", "Marco Rossi")],
        ),
        ("fjord", "Fjord Media", "smb", 18_000, luis, [("ingrid.berg@fjordmedia.example", "Ingrid Berg")]),
        (
            "delta",
            "Delta Freight",
            "enterprise",
            150_000,
            luis,
            [("marta.kowalski@deltafreight.example", "Marta Kowalski")],
        ),
        (
            "granite",
            "Granite Mutual Insurance",
            "strategic",
            420_000,
            dana,
            [("olivia.grant@granitemutual.example", "Olivia Grant")],
        ),
        (
            "evergreen",
            "Evergreen Foods",
            "smb",
            12_000,
            dana,
            [("sofia.lind@evergreenfoods.example", "Sofia Lind")],
        ),
        (
            "harbor",
            "Harbor Point Shipping",
            "smb",
            24_000,
            luis,
            [("noah.fischer@harborpoint.example", "Noah Fischer")],
        ),
    ]:
        s.account(acc, name, tier=tier, arr=arr, am=am, am_email=am_email, contacts=contacts)
    keys: dict[str, Any] = {}
    priya, tom = "priya.shah@acme-logistics.example", "Tom Becker"
    hannah, raj = "hannah.cole@blueriver-health.example", "raj.patel@blueriver-health.example"
    marco, ingrid = "marco.rossi@cedarpine.example", "ingrid.berg@fjordmedia.example"

    # acme: churn threat after repeated unanswered asks and a promise we did not keep
    t = s.meeting(
        "acme",
        "2026-11-10 15:00",
        [
            ("Dana Whitfield", "internal", "Hi Priya, hi Tom."),
            ("Priya Shah", "client", "The SSO problem is hurting us."),
            ("Sam Okafor", "internal", "I'm looking at the logs now."),
        ],
    )
    s.signal(
        "frustration",
        t,
        "acme",
        "2026-11-10 15:00:07",
        "I'll be direct: the SSO problem since your November 6 release is hurting us.",
        score=0.55,
        speaker="Priya Shah",
        start_s=7.1,
    )
    keys["acme_soc2_ask"] = s.signal(
        "ask",
        t,
        "acme",
        "2026-11-10 15:00:42",
        "We also need your SOC 2 Type II report for our annual vendor review.",
        speaker=tom,
        start_s=42.2,
        subtype="request",
    )
    keys["acme_soc2_promise"] = s.signal(
        "commitment",
        t,
        "acme",
        "2026-11-10 15:00:52",
        "Of course. I'll send you the SOC 2 report by Friday.",
        party="us",
        speaker="Dana Whitfield",
        due_date=date(2026, 11, 13),
        start_s=52.3,
    )
    s.signal(
        "commitment",
        t,
        "acme",
        "2026-11-10 15:00:57",
        "And I'll send you a root-cause summary once we have confirmed the fix.",
        party="us",
        speaker="Sam Okafor",
        start_s=57.4,
    )
    a1 = s.message(
        "acme", "2026-11-11 14:12", sender=priya, subject="SSO login failures for our dispatch team"
    )
    s.signal("ask", a1, "acme", "2026-11-11 14:12", "Can you give us an ETA for the fix?", speaker=priya)
    s.signal(
        "ask",
        a1,
        "acme",
        "2026-11-11 14:12",
        "We also need the root-cause write-up for our IT director by Friday.",
        speaker=priya,
        due_date=date(2026, 11, 13),
    )
    a2 = s.message("acme", "2026-11-13 21:40", sender=priya, thread=a1[1])
    s.signal(
        "frustration",
        a2,
        "acme",
        "2026-11-13 21:40",
        "This is the third time I'm raising it, and it's really frustrating.",
        score=0.75,
        speaker=priya,
    )
    a3 = s.message("acme", "2026-11-16 13:05", sender=priya, subject="Fwd: Northwind SSO - options")
    s.signal(
        "frustration",
        a3,
        "acme",
        "2026-11-16 13:05",
        "If they can't fix this by the end of the month, I "
        "recommend we start evaluating other vendors before the January renewal.",
        score=0.85,
        subtype="churn_threat",
        speaker=priya,
    )
    a4 = s.message("acme", "2026-11-18 15:30", sender=priya, thread=a1[1])
    keys["acme_unacceptable"] = s.signal(
        "frustration",
        a4,
        "acme",
        "2026-11-18 15:30",
        "Honestly, this is unacceptable.",
        score=0.8,
        speaker=priya,
    )
    keys["acme_churn"] = s.signal(
        "frustration",
        a4,
        "acme",
        "2026-11-18 15:30",
        "We are now evaluating other "
        "vendors, and if this isn't resolved by the end of the month we will not renew "
        "in January.",
        score=0.95,
        subtype="churn_threat",
        speaker=priya,
    )
    s.signal(
        "ask",
        a4,
        "acme",
        "2026-11-18 15:30",
        "Please confirm today who on your side owns this.",
        speaker=priya,
        due_date=date(2026, 11, 18),
    )

    # blueriver: calm baseline, then an overdue ask and rising frustration
    q = s.meeting(
        "blueriver",
        "2026-10-20 14:00",
        [
            ("Luis Romero", "internal", "Good morning everyone."),
            ("Raj Patel", "client", "Could you send us the slides?"),
        ],
    )
    s.signal(
        "ask",
        q,
        "blueriver",
        "2026-10-20 14:00:41",
        "Could you send us the slides after the call?",
        speaker="Raj Patel",
        start_s=41.5,
    )
    s.signal(
        "commitment",
        q,
        "blueriver",
        "2026-10-20 14:00:47",
        "Sure, I'll send the deck and a short recap tomorrow.",
        party="us",
        speaker="Luis Romero",
        start_s=47.3,
    )
    b0 = s.message(
        "blueriver",
        "2026-10-21 09:00",
        direction="outbound",
        sender="luis@northwind.example",
        subject="QBR recap and slides",
    )
    s.message("blueriver", "2026-10-21 12:45", sender=hannah, thread=b0[1])
    b1 = s.message(
        "blueriver", "2026-11-16 14:47", sender=hannah, subject="Nightly export to our warehouse failed"
    )
    keys["blueriver_export_ask"] = s.signal(
        "ask",
        b1,
        "blueriver",
        "2026-11-16 14:47",
        "Could you have someone look at it and let us know by Wednesday what went wrong?",
        speaker=hannah,
        due_date=date(2026, 11, 18),
    )
    s.message(
        "blueriver",
        "2026-11-16 15:10",
        direction="internal",
        thread=b1[1],
        sender="luis@northwind.example",
        to=["sam.okafor@northwind.example"],
    )
    b2 = s.message("blueriver", "2026-11-19 15:05", sender=hannah, thread=b1[1])
    s.signal(
        "frustration",
        b2,
        "blueriver",
        "2026-11-19 15:05",
        "This is really frustrating.",
        score=0.7,
        speaker=hannah,
    )
    s.signal(
        "frustration",
        b2,
        "blueriver",
        "2026-11-19 15:05",
        "It's Thursday and we still haven't heard anything.",
        score=0.55,
        speaker=hannah,
    )
    s.signal(
        "ask",
        b2,
        "blueriver",
        "2026-11-19 15:05",
        "Can someone call me today?",
        speaker=hannah,
        due_date=date(2026, 11, 19),
    )
    b3 = s.message(
        "blueriver", "2026-11-19 17:20", sender=raj, subject="Revenue dashboard numbers don't match"
    )
    s.signal(
        "frustration",
        b3,
        "blueriver",
        "2026-11-19 17:20",
        "We keep reconciling this by hand and it's getting tiresome.",
        score=0.5,
        speaker=raj,
    )
    s.signal(
        "ask",
        b3,
        "blueriver",
        "2026-11-19 17:20",
        "Could you check whether the export failures are related?",
        speaker=raj,
    )

    # cedar: strong buying signal and an open pricing question
    c1 = s.message("cedar", "2026-11-12 09:15", sender=marco, subject="Rollout to all stores in Q1")
    s.signal(
        "buying_signal",
        c1,
        "cedar",
        "2026-11-12 09:15",
        "We'd like to roll it out to all 48 stores in Q1.",
        score=0.85,
        subtype="expansion",
        speaker=marco,
    )
    s.signal(
        "ask",
        c1,
        "cedar",
        "2026-11-12 09:15",
        "Could you tell me what the licence would look like for that?",
        speaker=marco,
        subtype="pricing",
    )
    s.message("cedar", "2026-11-13 09:30", direction="outbound", thread=c1[1])
    m = s.meeting(
        "cedar",
        "2026-11-18 00:00",
        [
            ("Dana Whitfield", "internal", "Hi Marco."),
            ("Marco Rossi", "client", "Our CFO approved the budget."),
        ],
    )
    keys["cedar_seats"] = s.signal(
        "buying_signal",
        m,
        "cedar",
        "2026-11-18 00:00:07",
        "Our CFO approved the "
        "budget for the rollout on Monday, so we're looking at adding about 40 seats "
        "for the store planners.",
        score=0.95,
        subtype="seats",
        speaker="Marco Rossi",
        start_s=7.0,
    )
    keys["cedar_pricing_ask"] = s.signal(
        "ask",
        m,
        "cedar",
        "2026-11-18 00:00:24",
        "Can you send us pricing for the enterprise plan with the 40 additional seats?",
        subtype="pricing",
        speaker="Marco Rossi",
        start_s=24.0,
    )
    s.signal(
        "commitment",
        m,
        "cedar",
        "2026-11-18 00:00:36",
        "Absolutely, I'll put together a quote for you.",
        party="us",
        speaker="Dana Whitfield",
        start_s=36.0,
    )
    c2 = s.message("cedar", "2026-11-19 13:05", sender=marco, subject="Pricing for 40 additional seats")
    s.signal(
        "ask",
        c2,
        "cedar",
        "2026-11-19 13:05",
        "Just to follow up: could you send the enterprise pricing for the 40 additional seats by Monday?",
        subtype="pricing",
        speaker=marco,
        due_date=date(2026, 11, 23),
    )
    s.signal(
        "buying_signal",
        c2,
        "cedar",
        "2026-11-19 13:05",
        "Our CFO wants to sign off before the budget freeze, and we're keen to get started in January.",
        score=0.7,
        subtype="timeline",
        speaker=marco,
    )

    # fjord: always a little grumpy, one fresh complaint with an open ask
    for day, text in [
        ("2026-09-30 07:02", "It's annoying to have to chase it every week."),
        ("2026-10-14 06:31", "It's getting tiresome, to be honest."),
        ("2026-10-28 08:15", "This keeps happening and it's annoying."),
    ]:
        f = s.message("fjord", day, sender=ingrid)
        s.signal("frustration", f, "fjord", day, text, score=0.45, speaker=ingrid)
        s.message("fjord", day[:11] + "13:00", direction="outbound", thread=f[1])
    f4 = s.message("fjord", "2026-11-18 08:10", sender=ingrid, subject="CSV export cuts off at 10,000 rows")
    keys["fjord_csv"] = s.signal(
        "frustration",
        f4,
        "fjord",
        "2026-11-18 08:10",
        "The CSV export is cutting off at 10,000 rows again, which is frustrating.",
        score=0.55,
        speaker=ingrid,
    )
    s.signal(
        "ask", f4, "fjord", "2026-11-18 08:10", "Can you raise the limit for our account?", speaker=ingrid
    )

    # delta: every ask answered by our replies
    d1 = s.message("delta", "2026-11-10 07:15", sender="marta.kowalski@deltafreight.example")
    s.signal(
        "ask",
        d1,
        "delta",
        "2026-11-10 07:15",
        "Could you confirm the API rate limits for the shipment endpoint?",
    )
    s.signal("ask", d1, "delta", "2026-11-10 07:15", "Also, is there a sandbox we can test against?")
    s.message(
        "delta", "2026-11-10 12:40", direction="outbound", thread=d1[1], sender="luis@northwind.example"
    )
    dm = s.meeting(
        "delta",
        "2026-11-12 00:00",
        [
            ("Luis Romero", "internal", "Hi Marta."),
            ("Marta Kowalski", "client", "Could you share the checklist?"),
        ],
    )
    keys["delta_checklist_ask"] = s.signal(
        "ask",
        dm,
        "delta",
        "2026-11-12 00:00:15",
        "Could you share the onboarding checklist for our new planners?",
        speaker="Marta Kowalski",
        start_s=15.3,
    )
    s.signal(
        "commitment",
        dm,
        "delta",
        "2026-11-12 00:00:24",
        "Sure, I'll send it right after the call.",
        party="us",
        speaker="Luis Romero",
        start_s=24.4,
    )
    d2 = s.message("delta", "2026-11-12 15:30", direction="outbound", sender="luis@northwind.example")
    d2r = s.message("delta", "2026-11-13 08:02", thread=d2[1], sender="marta.kowalski@deltafreight.example")
    # weak false positives the real detectors produce on these mails: they must not list delta
    s.signal(
        "buying_signal",
        d1,
        "delta",
        "2026-11-10 07:15",
        "We're building the integration with our TMS.",
        score=0.51,
        subtype="expansion",
    )
    s.signal(
        "buying_signal",
        dm,
        "delta",
        "2026-11-12 00:00:05",
        "The integration is going well, the sandbox helped a lot.",
        score=0.61,
        subtype="addon",
        speaker="Marta Kowalski",
        start_s=5.6,
    )
    s.signal(
        "buying_signal",
        d2r,
        "delta",
        "2026-11-13 08:02",
        "Thanks Luis, that's exactly what we needed.",
        score=0.77,
        subtype="expansion",
    )

    # granite and evergreen: calm, only thanks
    s.meeting(
        "granite",
        "2026-11-17 16:00",
        [("Dana Whitfield", "internal", "Hi Olivia."), ("Olivia Grant", "client", "Really well.")],
    )
    g = s.message("granite", "2026-11-18 20:20", sender="olivia.grant@granitemutual.example")
    s.signal("ask", g, "granite", "2026-11-18 20:20", "Talk in December!", score=0.61, subtype="request")
    e0 = s.message("evergreen", "2026-11-06 09:00", direction="outbound")
    s.message("evergreen", "2026-11-09 10:00", thread=e0[1], sender="sofia.lind@evergreenfoods.example")

    # harbor: a volume report every two weeks (no signals), then nothing since 19 Oct: gone quiet
    noah = "noah.fischer@harborpoint.example"
    for n, day in enumerate(("2026-09-07", "2026-09-21", "2026-10-05", "2026-10-19")):
        h = s.message("harbor", f"{day} 06:40", sender=noah, subject=f"Volume report, weeks {35 + 2 * n}-{36 + 2 * n}")
        if day == "2026-09-21":
            s.message("harbor", f"{day} 13:10", direction="outbound", thread=h[1], sender="luis@northwind.example")
        keys.setdefault("harbor_reports", []).append(h[0])

    # a sender of no known account
    k = s.message(
        None,
        "2026-11-17 21:00",
        sender="kevin.marsh@globex-partners.example",
        direction="external",
        subject="Reseller agreement - still waiting",
    )
    s.signal(
        "frustration",
        k,
        None,
        "2026-11-17 21:00",
        "I've emailed twice about the reseller agreement and nobody has replied, which is frustrating.",
        score=0.6,
        speaker="kevin.marsh@globex-partners.example",
    )
    s.signal(
        "ask",
        k,
        None,
        "2026-11-17 21:00",
        "Can someone from your team get back to me this week?",
        speaker="kevin.marsh@globex-partners.example",
    )
    keys["seeder"] = s
    return keys
