-- Engagement (owned by triage/score/engagement.py, docs/scoring.md "Going quiet and slow answers"):
-- what each account's message metadata says on a day -- its usual inbound and meeting cadence, how
-- long it has been silent, our reply times, the longest wait for any reply -- and whether that gave
-- the call-list reasons engagement_drop and slow_response. Replaced per day by build_call_list.
CREATE TABLE account_engagement (
    as_of                       DATE NOT NULL,
    account_id                  VARCHAR NOT NULL,
    inbound_messages            INTEGER NOT NULL,   -- client mail (people, not machines) in scoring.engagement_baseline_days
    last_inbound_at             TIMESTAMPTZ,        -- the client's latest mail to us (any time before the day's end)
    last_inbound_key            VARCHAR,            -- its messages.message_key
    usual_gap_days              DOUBLE,             -- median gap between the days it wrote (NULL: under two days)
    silent_days                 INTEGER,            -- calendar days from its last mail to as_of
    silent_business_days        INTEGER,
    meetings                    INTEGER NOT NULL,   -- meetings with the account in the baseline window
    last_meeting_at             TIMESTAMPTZ,
    usual_meeting_gap_days      DOUBLE,
    replies_recent              INTEGER NOT NULL,   -- client mails we answered in the thread, last slow_response_window_days
    replies_baseline            INTEGER NOT NULL,   -- ... in the baseline window before that
    median_reply_hours_recent   DOUBLE,
    median_reply_hours_baseline DOUBLE,
    longest_wait_business_days  INTEGER,            -- longest wait for any reply of a mail that needed one (recent window)
    waiting_message_key         VARCHAR,            -- that mail
    waiting_since               TIMESTAMPTZ,
    waiting_answered_at         TIMESTAMPTZ,        -- NULL: still waiting at as_of
    engagement_drop             BOOLEAN NOT NULL,   -- a normally active account gone quiet
    drop_channel                VARCHAR,            -- mail | meetings
    engagement_drop_points      DOUBLE NOT NULL,
    slow_response               BOOLEAN NOT NULL,   -- kept waiting, or median reply time up on its baseline
    slow_kind                   VARCHAR,            -- waiting | median
    slow_response_points        DOUBLE NOT NULL,
    computed_at                 TIMESTAMPTZ NOT NULL,
    run_id                      VARCHAR,
    PRIMARY KEY (as_of, account_id)
);

-- The latest day's engagement per account, with its name and AM; quiet and slow accounts first.
CREATE VIEW v_account_engagement AS
SELECT e.as_of, e.account_id, a.name AS account_name, a.owner_am, a.tier,
       e.engagement_drop, e.slow_response, e.inbound_messages, e.last_inbound_at, e.usual_gap_days,
       e.silent_days, e.silent_business_days, e.meetings, e.last_meeting_at, e.usual_meeting_gap_days,
       e.median_reply_hours_recent, e.median_reply_hours_baseline, e.replies_recent, e.replies_baseline,
       e.longest_wait_business_days, e.waiting_since, e.waiting_answered_at, e.waiting_message_key,
       e.drop_channel, e.engagement_drop_points, e.slow_kind, e.slow_response_points
FROM account_engagement e
LEFT JOIN accounts a USING (account_id)
WHERE e.as_of = (SELECT max(as_of) FROM call_list_builds)
ORDER BY e.engagement_drop DESC, e.slow_response DESC, e.engagement_drop_points + e.slow_response_points DESC,
         e.account_id;
