"""Learn owns training and evaluation (`triage train`, `triage eval`, the card); the runtime never imports it.

Everything here may import the runtime (:mod:`triage.nlp`); nothing in the runtime imports this
package, so production never loads torch training code, datasets or baselines.

* :mod:`triage.learn.data`: the development data and our seed sets, with their fixed splits;
* :mod:`triage.learn.finetune`: multi-task LoRA fine-tuning of MiniLM (torch + peft);
* :mod:`triage.learn.train`: the whole ``triage train`` (fine-tune, export, heads, thresholds, card);
* :mod:`triage.learn.evaluate` and :mod:`triage.learn.baselines`: ``triage eval`` at the level the user sees;
* :mod:`triage.learn.card`: ``models/MODEL_CARD.md`` and ``models/metrics.json``.
"""
