"""JWZ threading: parents from References/In-Reply-To, missing parents, cycles, arrival order,
subject merge; and over real Enron mail through the parse stage."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.support.parse import count, enron_dev_files, insert_raw_many
from triage.db import Database
from triage.parse.accounts import Account, AccountBook
from triage.parse.messages import parse_pending
from triage.parse.threads import ThreadMessage, build_threads, normalise_subject, thread_id_for

T0 = datetime(2025, 11, 1, 9, 0, tzinfo=UTC)


def m(
    key: str,
    refs: tuple[str, ...] = (),
    irt: str | None = None,
    subject: str = "Order",
    minutes: int = 0,
    account: str | None = "acme",
    people: frozenset[str] = frozenset(),
) -> ThreadMessage:
    return ThreadMessage(
        key,
        f"<{key}@x.example>",
        tuple(f"<{r}@x.example>" for r in refs),
        f"<{irt}@x.example>" if irt else None,
        subject,
        T0 + timedelta(minutes=minutes),
        account,
        people,
    )


def groups(msgs: list[ThreadMessage], **kw: object) -> set[frozenset[str]]:
    return {frozenset(t.message_keys) for t in build_threads(msgs, **kw)}  # type: ignore[arg-type]


def test_references_and_in_reply_to_build_one_thread() -> None:
    msgs = [m("a"), m("b", ("a",)), m("c", irt="b"), m("d", ("a", "b"), minutes=3), m("z", subject="Other")]
    assert groups(msgs) == {frozenset("abcd"), frozenset("z")}
    t = next(t for t in build_threads(msgs) if "a" in t.message_keys)
    assert t.thread_id == thread_id_for("<a@x.example>")
    assert t.subject == "Order" and t.account_id == "acme" and t.message_count == 4


def test_missing_parent_is_an_empty_container_and_late_parent_keeps_the_thread_id() -> None:
    # b and c both reply to a, which has not arrived: they share a thread rooted at the empty a
    early = [m("b", ("a",), minutes=5), m("c", ("a",), minutes=6)]
    (t1,) = build_threads(early, merge_subjects=False)
    assert set(t1.message_keys) == {"b", "c"}
    assert t1.thread_id == thread_id_for("<a@x.example>")
    (t2,) = build_threads([*early, m("a")], merge_subjects=False)
    assert set(t2.message_keys) == {"a", "b", "c"}
    assert t2.thread_id == t1.thread_id


def test_late_parent_joins_two_partial_threads() -> None:
    # c replies to b only (In-Reply-To, no References); b is missing, so c is alone under b
    c = m("c", irt="b", subject="Re: Order", minutes=10)
    a = m("a")
    assert groups([a, c], merge_subjects=False) == {frozenset("a"), frozenset("c")}
    b = m("b", ("a",), subject="Re: Order", minutes=5)
    assert groups([a, c, b], merge_subjects=False) == {frozenset("abc")}


def test_result_does_not_depend_on_arrival_order() -> None:
    msgs = [
        m("a"),
        m("b", ("a",), minutes=1),
        m("c", ("a", "b"), minutes=2),
        m("d", ("x", "c"), minutes=3),
        m("e", irt="d", minutes=4),
        m("f", subject="Unrelated", minutes=5),
        m("g", ("f",), minutes=6),
    ]
    expected = build_threads(msgs)
    for perm in itertools.islice(itertools.permutations(msgs), 0, 200, 7):
        got = build_threads(list(perm))
        assert [(t.thread_id, t.message_keys) for t in got] == [(t.thread_id, t.message_keys) for t in expected]


def test_reference_cycles_never_loop() -> None:
    msgs = [m("a", ("b",)), m("b", ("a",)), m("c", ("c",)), m("d", ("e", "d", "e"))]
    threads = build_threads(msgs)
    assert sorted(k for t in threads for k in t.message_keys) == ["a", "b", "c", "d"]


def test_duplicate_message_ids_keep_both_messages() -> None:
    a1 = ThreadMessage("k1", "<dup@x>", subject="A", sent_at=T0)
    a2 = ThreadMessage("k2", "<DUP@x>", subject="A", sent_at=T0 + timedelta(minutes=1))
    assert sorted(k for t in build_threads([a1, a2]) for k in t.message_keys) == ["k1", "k2"]


def test_message_without_message_id_is_its_own_root() -> None:
    x = ThreadMessage("raw-hash", None, subject="Hello", sent_at=T0)
    (t,) = build_threads([x])
    assert t.message_keys == ["raw-hash"] and t.thread_id == thread_id_for("key:raw-hash")


def test_subject_merge_of_header_less_replies() -> None:
    orig = m("a", subject="Invoice 42", account="acme")
    reply = ThreadMessage("r", "<r@x>", subject="RE: Invoice 42", sent_at=T0 + timedelta(days=1), account_id="acme")
    same_subject_other_account = ThreadMessage(
        "o", "<o@x>", subject="Re: Invoice 42", sent_at=T0 + timedelta(days=1), account_id="globex"
    )
    not_a_reply = ThreadMessage("n", "<n@x>", subject="Invoice 42", sent_at=T0 + timedelta(days=2), account_id="acme")
    too_late = ThreadMessage(
        "l", "<l@x>", subject="Re: Invoice 42", sent_at=T0 + timedelta(days=200), account_id="acme"
    )
    got = groups([orig, reply, same_subject_other_account, not_a_reply, too_late])
    assert frozenset({"a", "r"}) in got
    assert {frozenset("o"), frozenset("n"), frozenset("l")} <= got
    assert groups([orig, reply], merge_subjects=False) == {frozenset("a"), frozenset("r")}


def test_subject_merge_without_account_needs_a_shared_participant() -> None:
    a = ThreadMessage("a", "<a@x>", subject="Lunch", sent_at=T0, participants=frozenset({"p@x", "q@x"}))
    b = ThreadMessage(
        "b", "<b@x>", subject="Re: Lunch", sent_at=T0 + timedelta(hours=1), participants=frozenset({"q@x"})
    )
    c = ThreadMessage(
        "c", "<c@x>", subject="Re: Lunch", sent_at=T0 + timedelta(hours=2), participants=frozenset({"z@x"})
    )
    assert groups([a, b, c]) == {frozenset("ab"), frozenset("c")}


def test_normalise_subject() -> None:
    assert normalise_subject("RE: Fwd: [acme-list] AW:  Invoice   42") == ("invoice 42", True)
    assert normalise_subject("Re[2]: Invoice") == ("invoice", True)
    assert normalise_subject("[list] Invoice") == ("invoice", False)
    assert normalise_subject("Regarding invoices") == ("regarding invoices", False)
    assert normalise_subject(None) == ("", False)


def test_large_random_forest_is_fast_and_complete() -> None:
    import time

    rng = random.Random(3)
    msgs = []
    for i in range(20000):
        parent = rng.randrange(i) if i and rng.random() < 0.7 else None
        refs = (f"m{parent}",) if parent is not None else ()
        msgs.append(m(f"m{i}", refs, subject=f"s{i % 900}", minutes=i, account=f"a{i % 50}"))
    rng.shuffle(msgs)
    t = time.perf_counter()
    threads = build_threads(msgs)
    assert time.perf_counter() - t < 20
    assert sum(t.message_count for t in threads) == 20000


def _enron_book() -> AccountBook:
    # Enron as one client account, so that header-less Enron replies can merge by subject
    return AccountBook([Account("enron", "Enron", ("enron.com",))], our_domains=["northwind.example"])


def test_enron_threads_through_the_stage(db: Database, shared_data: Path) -> None:
    files = enron_dev_files(shared_data)
    insert_raw_many(db, [(f.read_bytes(), f.parent.name, str(f.relative_to(shared_data))) for f in files])
    report = parse_pending(db, _enron_book(), "run-1")
    assert report.parsed + report.quarantined == count(db, "SELECT count(*) FROM raw_messages")
    with db.read() as con:
        west = con.execute("SELECT DISTINCT thread_id FROM messages WHERE subject ILIKE '%West Position%'").fetchall()
        sizes = con.execute("SELECT message_count FROM threads ORDER BY 1 DESC LIMIT 1").fetchone()
        total = con.execute("SELECT sum(message_count) FROM threads").fetchone()
        orphan = con.execute(
            "SELECT count(*) FROM messages m WHERE NOT EXISTS (SELECT 1 FROM threads t WHERE t.thread_id = m.thread_id)"
        ).fetchone()
    # "West Position", "FW: West Position" and "RE: West Position" (no In-Reply-To in Enron) are one thread
    assert len(west) == 1
    assert sizes is not None and sizes[0] >= 4
    assert total is not None and total[0] == count(db, "SELECT count(*) FROM messages")
    assert orphan == (0,)
    before = _thread_map(db)
    parse_pending(db, _enron_book(), "run-2")
    assert _thread_map(db) == before  # stable between runs


def _thread_map(db: Database) -> dict[str, str]:
    with db.read() as con:
        return dict(con.execute("SELECT message_key, thread_id FROM messages").fetchall())


def _mail(
    mid: str,
    subject: str,
    *,
    refs: str = "",
    irt: str = "",
    when: str = "Mon, 3 Nov 2025 10:00:00 +0000",
    frm: str = "priya@acme-logistics.example",
    to: str = "dana@northwind.example",
) -> bytes:
    head = f"Message-ID: <{mid}>\nDate: {when}\nFrom: {frm}\nTo: {to}\nSubject: {subject}\n"
    if refs:
        head += f"References: {refs}\n"
    if irt:
        head += f"In-Reply-To: {irt}\n"
    return (head + f"\nBody of {mid}.\n").encode()


def test_out_of_order_arrival_across_runs(db: Database) -> None:
    b = AccountBook([Account("acme", "Acme", ("acme-logistics.example",))], our_domains=["northwind.example"])
    # run 1: the third message arrives first, replying to a message we have not seen
    insert_raw_many(db, [(_mail("c@x", "Re: Order", irt="<b@x>", when="Wed, 5 Nov 2025 10:00:00 +0000"), "INBOX", "c")])
    parse_pending(db, b, "r1")
    t_c1 = _thread_map(db)
    # run 2: the original arrives (unrelated so far: c only named b)
    insert_raw_many(db, [(_mail("a@x", "Order"), "INBOX", "a")])
    parse_pending(db, b, "r2")
    m2 = _thread_map(db)
    # run 3: our reply b arrives (from the Sent folder), linking a and c
    insert_raw_many(
        db,
        [
            (
                _mail(
                    "b@x",
                    "Re: Order",
                    refs="<a@x>",
                    frm="dana@northwind.example",
                    to="priya@acme-logistics.example",
                    when="Tue, 4 Nov 2025 10:00:00 +0000",
                ),
                "Sent",
                "b",
            )
        ],
        is_sent_folder=True,
    )
    parse_pending(db, b, "r3")
    m3 = _thread_map(db)
    assert len(set(m3.values())) == 1  # all three in one thread now
    assert len(t_c1) == 1 and len(m2) == 2
    with db.read() as con:
        row = con.execute("SELECT message_count, account_id, subject FROM threads").fetchall()
        directions = dict(con.execute("SELECT message_id, direction FROM messages").fetchall())
    assert row == [(3, "acme", "Order")]
    assert directions == {"<a@x>": "inbound", "<b@x>": "outbound", "<c@x>": "inbound"}
