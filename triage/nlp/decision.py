"""How rules combine with the head probability: score floors and caps (shared by components and training).

Three forms are not asks that need our answer, whatever the head says (Parakweet's "request or
proposal" counts them; MailEx, whose annotators marked request events in real Enron threads, does not):

* a conditional offer ("If you have any questions, please let me know", "Feel free to call me"),
  with no question mark: capped at 0.1 (Parakweet labels these both ways, 32 yes, 33 no);
* a delivery ("Please see attached.", "Attached is the revised model.") with no question mark, no
  modal request, no need and no deadline: capped at 0.1;
* the client's own promise ("We will give you a call later today.", "I'll check with Sheila.") with
  no question mark, modal request or need: capped at 0.1 (it is theirs to keep, not ours to answer).

A floor raises the score of a sentence whose rules say it is almost surely positive: a churn threat
or an escalation is frustration (even when the Reddit-trained head is unsure); a direct question
("Is there ...?", "Could you ...?") from a client is an ask (80% of Parakweet's questions are labelled
Yes). A cap lowers it when the rules say it is almost surely not: a sign-off or an acceptance ("Have a
good weekend!", "Talk then!", "Wednesday at 4pm works.") with no request form is not an ask that needs an
answer. A sentence with no request form at all (no question mark, modal, "please", "we need", imperative,
follow-up or promise) is an ask only when the head is sure of it (>= 0.6): Parakweet labels any action
item "yes", so the head scores statements that merely mention a day ("... failed on Saturday") near the
threshold; on Parakweet this cost 0.012 F1 when it was introduced (0.824 -> 0.811 out-of-fold) for
fewer false open asks.
Thresholds are picked by cross-validation on the adjusted scores, so floors and caps are part of
what is tuned and measured, and the evaluation measures exactly this combination.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from triage.nlp.patterns import FEATURES

__all__ = ["FLOORS", "Floor", "apply_floor_table", "apply_floors"]


@dataclass(frozen=True)
class Floor:
    name: str
    #: every one of these rule features must be present...
    all_of: tuple[str, ...]
    #: ...and at least one of these (when not empty)
    any_of: tuple[str, ...]
    value: float
    #: ...and none of these
    none_of: tuple[str, ...] = ()
    #: a cap (score lowered to at most ``value``) instead of a floor
    cap: bool = False
    #: when set, the cap applies only to scores below this (a confident head keeps its score)
    below: float | None = None


FLOORS: dict[str, tuple[Floor, ...]] = {
    "frustration": (
        Floor("churn_threat", ("frustration:churn",), (), 0.9),
        Floor("escalation", ("frustration:escalation",), (), 0.8),
    ),
    "ask": (
        Floor("question", ("ask:qmark",), ("ask:question_start", "ask:modal"), 0.6),
        Floor("offer", ("ask:offer",), (), 0.1, cap=True, none_of=("ask:qmark",)),
        Floor("delivery", ("ask:delivery",), (), 0.1, cap=True,
              none_of=("ask:qmark", "ask:modal", "ask:need", "due:")),
        Floor("own_promise", ("commit:",), (), 0.1, cap=True, none_of=("ask:qmark", "ask:modal", "ask:need")),
        Floor("closing", ("ask:closing",), (), 0.2, cap=True,
              none_of=("ask:qmark", "ask:modal", "ask:please", "ask:need", "ask:reply", "ask:imperative")),
        Floor("no_request_form", (), (), 0.1, cap=True, below=0.6,
              none_of=("ask:qmark", "ask:question_start", "ask:modal", "ask:please", "ask:need", "ask:reply",
                       "ask:imperative", "repeat:", "commit:")),
    ),
    "buying_signal": (),
    "complaint": (),
    "commitment": (
        Floor("offer", ("ask:offer",), (), 0.1, cap=True),
    ),
}


def apply_floors(kind: str, p: npt.NDArray[np.float64], rules: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    """``p`` raised to the floors (lowered to the caps) whose rule conditions hold (columns ``FEATURES[kind]``)."""
    return apply_floor_table(FLOORS[kind], FEATURES[kind], p, rules)


def apply_floor_table(floors: Sequence[Floor], names: Sequence[str], p: npt.NDArray[np.float64],
                      rules: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    """``p`` raised to ``floors`` (lowered to the caps) whose conditions hold; ``rules`` has one column per
    name of ``names`` (the v1 baseline applies its own tables with this too)."""
    out = np.asarray(p, dtype=np.float64).copy()
    r = np.asarray(rules).reshape(len(out), len(names)) > 0
    for f in floors:
        mask = np.ones(len(out), dtype=bool)
        for feat in f.all_of:
            mask &= r[:, names.index(feat)]
        if f.any_of:
            mask &= np.any(np.stack([r[:, names.index(feat)] for feat in f.any_of], axis=1), axis=1)
        for feat in f.none_of:
            mask &= ~r[:, names.index(feat)]
        if f.below is not None:
            mask &= out < f.below
        out[mask] = np.minimum(out[mask], f.value) if f.cap else np.maximum(out[mask], f.value)
    return out
