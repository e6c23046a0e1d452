"""Rule pattern tables (data only): phrases for the PhraseMatcher and token patterns for the Matcher.

Rule names are ``<group>:<name>``. Groups: ``frustration``, ``buying``, ``buying_neg`` (hard negatives
that look like buying cues), ``ask``, ``repeat`` (an ask made again), ``commit`` (our promises) and
``due`` (a due-date phrase, resolved by :mod:`triage.nlp.dates`). Phrases are matched on the LOWER
attribute; token patterns may also use ``REGEX`` on LOWER and ``SHAPE``.

Changing anything here changes :data:`PATTERNS_VERSION` and therefore the pipeline version, so the
next run re-scores everything with the new rules.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

__all__ = ["FEATURES", "IMPERATIVE_VERBS", "PATTERNS_VERSION", "PHRASES", "TOKEN_PATTERNS", "WEEKDAYS"]

WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
            "mon", "tue", "tues", "wed", "thu", "thur", "thurs", "fri", "sat", "sun"]
MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct",
          "nov", "dec"]
_MONTHS_DOT = [*MONTHS, *[m + "." for m in MONTHS if len(m) <= 4]]


def _ordinal(n: int) -> str:
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


#: day-of-month tokens ("3", "03", "3rd"): IN lists, not REGEX, keep the Matcher fast
_DAYNUM = sorted({*map(str, range(1, 32)), *(f"{d:02d}" for d in range(1, 10)), *(_ordinal(d) for d in range(1, 32))})
_FRUSTRATED_WORDS = sorted(
    f"{stem}{end}"
    for stem in ("frustrat", "disappoint", "annoy", "infuriat", "irritat", "aggravat", "exasperat")
    for end in ("e", "es", "ed", "ing", "ion", "ions", "ment", "ments", "ance", "ances", "s", "")
)
#: token shapes of numeric dates: 2026-12-03, 12/3, 12/03/2026
_DATE_SHAPES = ["dddd-dd-dd", "dddd-d-dd", "dddd-dd-d", "dddd-d-d", "d/d", "dd/d", "d/dd", "dd/dd",
                "d/d/dd", "dd/dd/dd", "d/dd/dd", "dd/d/dd", "d/d/dddd", "dd/dd/dddd", "d/dd/dddd", "dd/d/dddd"]

#: verbs that start an imperative request ("Send me the deck", "Please confirm ...")
IMPERATIVE_VERBS = frozenset(
    [
        "send", "share", "forward", "provide", "confirm", "call", "give", "review", "check", "update",
        "schedule", "sign", "fill", "find", "attach", "advise", "reply", "respond", "add", "remove", "fix",
        "resolve", "email", "ping", "include", "arrange", "book", "set", "loop", "clarify", "explain", "walk",
        "let", "tell", "look", "prepare", "approve", "complete", "return", "submit", "escalate", "cancel",
        "issue", "refund", "remind", "reach", "contact", "chase",
    ]
)

PHRASES: dict[str, list[str]] = {
    # --- frustration -------------------------------------------------------------------------
    "frustration:escalation": [
        "escalate", "escalating", "escalated", "escalation", "speak to your manager", "talk to your manager",
        "speak with your manager", "speak to a manager", "speak to your supervisor", "your supervisor",
        "someone more senior", "take this higher", "take this further", "involve our legal",
        "get legal involved", "our lawyers will", "our legal department will", "formal complaint",
        "file a complaint", "raise this with your ceo",
        "unacceptable", "not acceptable", "completely unacceptable",
    ],
    "frustration:churn": [
        "switch to another vendor", "switching vendors", "switch vendors", "switch providers",
        "looking at alternatives", "look at alternatives", "looking for alternatives", "evaluating alternatives",
        "evaluate other vendors", "other vendors", "a different vendor", "move to a competitor",
        "moving to a competitor", "take our business elsewhere", "taking our business elsewhere",
        "not renew", "won't renew", "will not renew", "not be renewing", "won't be renewing",
        "not going to renew", "reconsider our partnership", "reconsidering our contract",
        "reconsider the contract", "pull the plug", "end our contract", "terminate our contract",
        "terminate the contract", "terminate our agreement", "termination", "cancel our subscription",
        "cancel our contract", "cancel our account", "cancel the contract", "cancel the subscription",
        "cancel our license", "cancel our licenses", "cancelling our subscription", "canceling our subscription",
        "exit clause", "walk away from",
    ],
    "frustration:unresolved": [
        "third time", "second time", "fourth time", "yet again", "once again", "still not", "still no",
        "still hasn't", "still haven't", "still isn't", "still doesn't", "still don't", "still waiting",
        "how many times", "for weeks now", "keeps happening", "again and again", "nobody has", "no one has",
        "no response", "never heard back", "no one got back", "nobody got back", "not been resolved",
        "still broken", "going in circles",
    ],
    "frustration:negative": [
        "fed up", "sick of", "tired of", "not happy", "very unhappy", "waste of time", "wasted hours",
        "ridiculous", "terrible", "awful", "horrible", "useless", "worst", "outrageous", "absurd",
        "pathetic", "nightmare", "appalling", "angry", "furious", "upset", "unhappy", "let down",
        "losing patience", "lost patience", "at a loss", "fiasco", "embarrassing", "unprofessional",
    ],
    # --- buying signals ----------------------------------------------------------------------
    "buying:pricing": [
        "pricing", "price list", "price", "prices", "quote", "quotation", "how much", "cost", "costs",
        "rate card", "volume discount", "discount", "proposal", "pricing sheet", "per seat", "per user",
        "per license", "list price", "tco", "commercials", "commercial terms",
    ],
    "buying:seats": [
        "seats", "seat", "licenses", "licences", "license count", "more users", "additional users",
        "extra users", "more logins", "additional logins", "user count", "headcount", "more licenses",
    ],
    "buying:expansion": [
        "roll out to", "roll it out", "rollout", "roll-out", "expand", "expanding", "expansion",
        "other teams", "other departments", "another team", "another department", "company-wide",
        "company wide", "across the organization", "across the organisation", "enterprise-wide",
        "across the company", "second site", "other regions", "other offices", "extend to", "global rollout",
        "onboard the", "bring on",
    ],
    "buying:renewal": [
        "renewal", "renew", "renewing", "contract extension", "extend the contract", "extend our contract",
        "multi-year", "multi year", "three-year", "two-year", "next year's contract", "another year",
    ],
    "buying:upgrade": [
        "upgrade", "upgrading", "premium tier", "premium plan", "enterprise plan", "enterprise tier",
        "enterprise edition", "higher tier", "pro plan", "business plan", "move up to", "step up to",
    ],
    "buying:budget": [
        "budget approved", "budget was approved", "budget has been approved", "got sign-off", "got sign off",
        "signed off", "sign-off", "approved the budget", "approved budget", "budget for", "budget is there",
        "funding approved", "purchase order", "po number", "raise a po", "procurement", "ready to sign",
        "sign the contract", "green light", "order form", "msa", "get this signed",
    ],
    "buying:addon": [
        "add-on", "add-ons", "addon", "addons", "module", "modules", "premium support", "sso add-on",
        "analytics package", "api access", "additional module",
    ],
    "buying_neg:spam": [
        "upgrade your account now", "upgrade now", "limited time", "act now", "special offer", "click here",
        "unsubscribe", "exclusive deal", "don't miss", "free trial", "offer ends", "% off", "sign up today",
        "claim your", "you have been selected", "congratulations",
    ],
    "buying_neg:billing": [
        "overcharged", "double charged", "charged twice", "refund", "incorrect invoice", "wrong invoice",
        "billing error", "invoice is wrong", "credit note", "dispute", "disputed", "billed for",
        "should not have been charged", "late fee",
    ],
    "buying_neg:support": [
        "bug", "error", "crash", "crashes", "outage", "not working", "broken", "ticket", "support case",
        "downtime", "500 error", "timeout", "login issue", "sso is failing",
    ],
    # --- asks ----------------------------------------------------------------------------------
    "ask:modal": [
        "could you", "can you", "would you", "will you", "could we", "can we get", "can i get",
        "would it be possible", "is it possible", "would you mind", "do you mind", "are you able to",
        "is there any way", "could someone", "can someone",
    ],
    "ask:please": ["please", "pls", "plz", "kindly"],
    "ask:need": [
        "i need", "we need", "i'd need", "we'd need", "need you to", "i would need", "we would need",
        "we require", "i require", "we'd like", "i'd like", "we would like", "i would like", "we want",
        "i want", "would appreciate", "i'd appreciate", "we'd appreciate", "it would be great if",
        "it would help if",
    ],
    "ask:reply": [
        "let me know", "let us know", "get back to me", "get back to us", "keep me posted", "keep us posted",
        "advise", "please confirm", "can you confirm", "send me", "send us", "send over", "look forward to your",
        "awaiting your", "waiting for your",
    ],
    # conditional offers ("let me know if you have any questions"): courtesy, not an ask that needs an answer
    "ask:offer": [
        "if you have any questions", "if you have questions", "if you have any further questions",
        "if you have any other questions", "if you have any additional questions", "if you have any comments",
        "if you have any concerns", "if you need anything", "if you need any", "if you need more",
        "if you need further", "if there is anything", "if there's anything", "should you have any",
        "should you need", "feel free to", "don't hesitate", "do not hesitate", "with any questions",
        "with any additional questions", "with any further questions", "with any other questions",
        "any questions, please", "any questions please", "happy to help", "glad to help", "happy to discuss",
        "if you would like", "if you'd like", "if you wish", "if that helps", "if interested",
        "if you are interested", "if you're interested", "if i can be of", "if we can be of",
        "if anyone has any questions", "if anyone has questions", "if you have any additional comments",
        "if you have any further comments", "if you have any other comments", "if you have any feedback",
        "with any additional questions or concerns", "if you need additional information",
        "if you need any additional information", "if you need any further information",
    ],
    # a delivery ("Please see attached.", "Attached is the revised model."): something given, not asked for
    "ask:delivery": [
        "please see attached", "please find attached", "please find enclosed", "see attached", "attached please find",
        "attached is", "attached are", "attached you will find", "enclosed is", "enclosed are",
        "enclosed please find", "i have attached", "i've attached", "we have attached", "we've attached",
        "here is the", "here are the", "here is a", "here's the", "please see below", "see below",
        "please find below", "below is", "below are",
    ],
    "ask:closing": [
        "have a good", "have a great", "have a nice", "have a lovely", "enjoy your", "enjoy the", "talk soon",
        "talk then", "talk later", "talk in", "speak soon", "speak then", "see you", "thanks", "thank you",
        "many thanks", "best regards", "kind regards", "cheers", "works for me", "works for us", "sounds good",
        "that works", "looking forward to", "happy holidays", "happy new year", "all the best", "take care",
    ],
    "repeat:again": [
        "as i asked", "as we asked", "as requested", "as i mentioned", "as mentioned", "i asked last week",
        "we asked last week", "following up on", "follow up on", "following up", "still waiting",
        "any update", "any updates", "any news", "reminder", "gentle reminder", "circling back",
        "haven't heard back", "have not heard back", "bumping this", "asked again", "asking again",
        "second request", "third request", "again:", "once more",
    ],
    # --- complaints: the client reports a problem (subtype of a complaint; features for nothing else) ---
    "complaint:broken": [
        "not working", "doesn't work", "does not work", "don't work", "isn't working", "stopped working",
        "won't load", "will not load", "doesn't load", "broken", "broke", "crash", "crashes", "crashed", "error",
        "errors", "outage", "is down", "was down", "went down", "bug", "bugs", "fails", "failed", "failing",
        "failure", "can't access", "cannot access", "can't log in", "cannot log in", "unable to", "glitch",
    ],
    "complaint:late": [
        "late", "delayed", "delay", "delays", "overdue", "still waiting", "still haven't", "still have not",
        "still not", "behind schedule", "past due", "missed the deadline", "weeks ago", "no update", "not yet",
        "still hasn't", "taking forever", "took forever",
    ],
    "complaint:wrong": [
        "wrong", "incorrect", "inaccurate", "mistake", "mistakes", "don't match", "doesn't match",
        "do not match", "does not match", "mismatch", "discrepancy", "miscalculated", "not what we ordered",
        "not what we asked",
    ],
    "complaint:missing": [
        "missing", "never arrived", "never received", "didn't receive", "did not receive", "haven't received",
        "have not received", "hasn't arrived", "has not arrived", "lost", "disappeared", "gone from",
    ],
    "complaint:billing": [
        "charged", "overcharged", "double charged", "charged twice", "billed", "invoice", "invoiced",
        "billing", "refund", "credit note", "overcharge", "overcharges", "fee", "fees",
    ],
    "complaint:performance": [
        "slow", "slower", "sluggish", "latency", "timeout", "timeouts", "takes ages", "grinds to a halt",
        "lagging", "laggy", "unresponsive",
    ],
    "complaint:service": [
        "no response", "no reply", "unanswered", "nobody responded", "no one responded", "nobody got back",
        "no one got back", "never heard back", "not returned", "ignored", "no one picked up",
        "nobody picked up",
    ],
    # --- text that is not the writer speaking to us (never scored; see triage/nlp/evidence.py) ---
    "boilerplate:legal": [
        "intended recipient", "intended recipients", "intended solely for", "intended only for",
        "privileged and confidential", "confidential and privileged", "legally privileged",
        "strictly prohibited", "received this message in error", "received this email in error",
        "received this e-mail in error", "received this communication in error", "notify the sender",
        "delete this message", "delete this e-mail", "delete this email", "delete it immediately",
        "not the intended recipient",
    ],
    "boilerplate:auto": [
        "this is an automated", "this is an automatic", "automatically generated", "generated automatically",
        "do not reply to this", "please do not reply", "this mailbox is not monitored", "sent automatically",
        "i am out of the office", "i'm out of the office", "i will be out of the office", "out of office until",
        "i am currently out of the office", "i'm currently out of the office", "with limited access to email",
        "with limited access to e-mail", "delivery has failed", "could not be delivered",
        "was not delivered", "undeliverable",
    ],
    # --- our commitments ---------------------------------------------------------------------
    "commit:promise": [
        "let me check", "let me find out", "let me look into", "let me get back", "let me confirm",
        "let me follow up", "let me ask", "i'll make sure", "we'll make sure", "i will make sure",
        "we will make sure", "you'll have it", "you will have it", "expect it by", "i'll get back",
        "we'll get back", "will get back to you", "will follow up", "will circle back", "on it",
    ],
    # --- due dates (phrases without a day; dated forms are token patterns) ---------------------
    "due:relative": [
        "eod", "eow", "eom", "cob", "close of business", "end of day", "end of the day", "end of week",
        "end of the week", "end of next week", "end of month", "end of the month", "end of quarter",
        "end of the quarter", "tomorrow", "tonight", "today", "this week", "next week", "asap",
        "first thing tomorrow", "tomorrow morning", "this afternoon",
    ],
}

_PRONOUN_WILL: list[dict[str, Any]] = [
    {"LOWER": {"IN": ["i", "we", "engineering", "support", "team", "engineers", "colleague", "someone"]}},
    {"LOWER": {"IN": ["'ll", "will", "shall", "’ll", "ll", "'m", "am", "are", "'re"]}},
    {"LOWER": {"IN": ["going", "gonna"]}, "OP": "?"},
    {"LOWER": "to", "OP": "?"},
    {"LOWER": {"IN": ["also", "then", "definitely", "certainly", "personally", "now", "quickly", "try", "and"]},
     "OP": "*"},
]
_COMMIT_VERBS = [
    "send", "get", "follow", "share", "have", "update", "check", "look", "confirm", "make", "schedule",
    "set", "prepare", "provide", "fix", "deliver", "circle", "loop", "reach", "call", "email", "forward",
    "review", "investigate", "come", "resolve", "ship", "push", "draft", "arrange", "book", "escalate",
    "refund", "issue", "credit", "sort", "dig", "ping", "chase", "work", "put", "turn", "give",
    "process", "deploy", "take", "handle", "remove", "add", "restore", "reopen", "reschedule", "ask",
    "talk", "discuss", "organise", "organize", "correct", "update", "apply", "release", "run", "test",
    "contact", "write", "post", "submit", "return", "sign", "countersign", "activate", "enable", "extend",
    "waive", "reimburse", "double-check", "clarify", "keep", "let", "walk", "bring", "introduce", "find",
]
_PROGRESSIVE = ["sending", "preparing", "drafting", "working", "putting", "setting", "scheduling", "fixing",
                "looking", "investigating", "chasing", "processing", "arranging", "updating", "finalising",
                "finalizing", "reviewing"]

TOKEN_PATTERNS: dict[str, list[list[dict[str, Any]]]] = {
    "frustration:churn": [
        [{"LOWER": {"IN": ["cancel", "cancelling", "canceling", "terminate", "terminating", "end"]}},
         {"LOWER": {"IN": ["our", "the", "my", "this"]}},
         {"LOWER": {"IN": ["subscription", "contract", "account", "agreement", "service", "plan", "licenses",
                           "licences", "deal", "relationship", "partnership"]}}],
        [{"LOWER": {"IN": ["switch", "switching", "move", "moving", "migrate", "migrating", "go", "going"]}},
         {"LOWER": "to"}, {"LOWER": {"IN": ["another", "a", "your"]}, "OP": "?"},
         {"LOWER": {"IN": ["competitor", "competitors", "vendor", "provider", "alternative", "competition"]}}],
    ],
    "frustration:shouting": [
        [{"IS_UPPER": True, "LENGTH": {">=": 4}}, {"IS_UPPER": True, "LENGTH": {">=": 3}},
         {"IS_UPPER": True, "LENGTH": {">=": 3}}],
        [{"ORTH": {"IN": ["!", "?"]}}, {"ORTH": "!"}],
    ],
    "frustration:negative": [
        [{"LOWER": {"IN": _FRUSTRATED_WORDS}}],
    ],
    "buying:seats": [
        [{"LIKE_NUM": True}, {"LOWER": {"IN": ["more", "additional", "extra", "new"]}, "OP": "?"},
         {"LOWER": {"IN": ["seats", "licenses", "licences", "users", "logins", "accounts", "agents", "editors"]}}],
        [{"LOWER": {"IN": ["add", "adding", "additional", "more", "extra"]}},
         {"LOWER": {"IN": ["seats", "licenses", "licences", "users", "logins", "agents"]}}],
    ],
    "buying:budget": [
        [{"LOWER": "budget"}, {"LOWER": {"IN": ["is", "was", "has", "got", "been"]}, "OP": "*"},
         {"LOWER": {"IN": ["approved", "signed", "allocated", "confirmed", "released"]}}],
        [{"LOWER": {"IN": ["cfo", "finance", "procurement", "leadership", "board", "vp"]}},
         {"LOWER": {"IN": ["approved", "signed", "okayed", "has", "gave"]}}],
    ],
    "ask:imperative": [],  # sentence-initial verbs: see rules.py (needs the sentence start)
    "ask:closing": [[{"LOWER": {"IN": ["works", "work"]}}, {"IS_PUNCT": True}]],  # "Wednesday at 4pm works."
    "commit:promise": [
        [*_PRONOUN_WILL, {"LOWER": {"IN": _COMMIT_VERBS}}],
        [{"LOWER": "you"}, {"LOWER": {"IN": ["'ll", "will", "’ll", "should"]}},
         {"LOWER": {"IN": ["have", "receive", "get", "see"]}}],
        [{"LOWER": {"IN": ["i", "we"]}}, {"LOWER": {"IN": ["'m", "am", "are", "'re", "’m", "’re"]}},
         {"LOWER": {"IN": ["already", "now", "currently"]}, "OP": "?"}, {"LOWER": {"IN": _PROGRESSIVE}}],
        [{"LOWER": "let"}, {"LOWER": {"IN": ["me", "us"]}}, {"LOWER": {"IN": _COMMIT_VERBS}}],
    ],
    "due:weekday": [
        [{"LOWER": {"IN": ["by", "before", "until", "till", "on", "for", "this", "next", "coming"]}},
         {"LOWER": {"IN": ["this", "next", "coming"]}, "OP": "?"},
         {"LOWER": {"IN": WEEKDAYS}},
         {"LOWER": {"IN": ["morning", "afternoon", "evening", "eod", "cob", "noon"]}, "OP": "?"}],
        [{"LOWER": "no"}, {"LOWER": "later"}, {"LOWER": "than"}, {"LOWER": {"IN": WEEKDAYS}}],
    ],
    "due:end_of": [
        [{"LOWER": {"IN": ["by", "before", "until"]}}, {"LOWER": "the", "OP": "?"}, {"LOWER": "end"},
         {"ORTH": "-", "OP": "?"}, {"LOWER": "of"}, {"ORTH": "-", "OP": "?"},
         {"LOWER": {"IN": ["this", "next", "the"]}, "OP": "?"},
         {"LOWER": {"IN": ["day", "week", "month", "quarter", "year", "business"]}},
         {"LOWER": "day", "OP": "?"}],
    ],
    "due:day_of_month": [
        [{"LOWER": {"IN": ["by", "before", "until", "on"]}}, {"LOWER": "the"}, {"LOWER": {"IN": _DAYNUM}},
         {"LOWER": "of", "OP": "?"}, {"LOWER": {"IN": _MONTHS_DOT}, "OP": "?"}],
    ],
    "due:date": [
        [{"LOWER": {"IN": _MONTHS_DOT}}, {"LOWER": {"IN": _DAYNUM}}],
        [{"LOWER": {"IN": _DAYNUM}}, {"LOWER": "of", "OP": "?"}, {"LOWER": {"IN": _MONTHS_DOT}}],
        [{"LOWER": {"IN": ["by", "before", "until", "on", "due"]}},
         {"SHAPE": {"IN": _DATE_SHAPES}}],
        [{"LOWER": {"IN": ["by", "before", "until", "on", "due"]}}, {"SHAPE": "dddd"}, {"ORTH": "-"},
         {"SHAPE": {"IN": ["d", "dd"]}}, {"ORTH": "-"}, {"SHAPE": {"IN": ["d", "dd"]}}],
    ],
    "due:in_days": [
        [{"LOWER": {"IN": ["in", "within"]}}, {"LOWER": "the", "OP": "?"}, {"LOWER": "next", "OP": "?"},
         {"LIKE_NUM": True}, {"LOWER": {"IN": ["business", "working"]}, "OP": "?"},
         {"LOWER": {"IN": ["day", "days", "week", "weeks"]}}],
    ],
}


#: rule-name prefixes used as binary head features, per detector (order is part of the head format)
FEATURES: dict[str, list[str]] = {
    "frustration": [
        "frustration:escalation", "frustration:churn", "frustration:unresolved", "frustration:negative",
        "frustration:shouting", "repeat:",
    ],
    "buying_signal": [
        "buying:pricing", "buying:seats", "buying:expansion", "buying:renewal", "buying:upgrade",
        "buying:budget", "buying:addon", "buying_neg:spam", "buying_neg:billing", "buying_neg:support",
        "frustration:churn", "ask:qmark",
    ],
    "ask": [
        "ask:qmark", "ask:question_start", "ask:modal", "ask:please", "ask:need", "ask:reply",
        "ask:imperative", "repeat:", "due:", "commit:", "ask:closing", "ask:offer", "ask:delivery",
    ],
    "complaint": [
        "complaint:broken", "complaint:late", "complaint:wrong", "complaint:missing", "complaint:billing",
        "complaint:performance", "complaint:service",
    ],
    "commitment": ["commit:", "due:", "ask:offer"],
}


def _fingerprint() -> str:
    blob = json.dumps([PHRASES, TOKEN_PATTERNS, sorted(IMPERATIVE_VERBS)], sort_keys=True).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()[:12]


#: hash of every table above; part of the pipeline version
PATTERNS_VERSION = _fingerprint()
