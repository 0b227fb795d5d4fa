"""The message catalogue: every sentence of the code is in it with its Korean (same placeholders);
the app in Korean leaves no English sentence in the main area of any page or Lesson step, and
without a language no Hangul; a Lesson question is one question in every language."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest
from app_support import assert_ok, run_app
from babel.messages.pofile import read_po
from conftest import ROOT

from senet_viz import i18n, lesson
from senet_viz.i18n import T, Tn
from senet_viz.rooms import question_id

KO = ROOT / "senet_viz" / "locale" / "ko" / "LC_MESSAGES" / "senet_viz.po"
FIELDS = re.compile(r"\{[^{}]*\}")
HANGUL = re.compile(r"[\uac00-\ud7a3]")


def _ids(catalog) -> set:
    return {m.id for m in catalog if m.id}


def test_every_sentence_of_the_code_has_its_korean_with_the_same_placeholders(tmp_path):
    """Extracted afresh from the code as `make messages` does: none missing from the Korean
    catalogue, none untranslated or fuzzy, each with the English's placeholders (format specs too)."""
    pot = tmp_path / "fresh.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg", "-k", "_", "-k", "T",
                    "-k", "N_", "-k", "ngettext:1,2", "-k", "Tn:1,2", "--no-location", "-o", str(pot), "."],
                   cwd=ROOT, check=True, capture_output=True)
    with pot.open("rb") as f:
        fresh = read_po(f)
    with KO.open("rb") as f:
        korean = read_po(f, locale="ko")
    assert len(_ids(fresh)) > 500  # the extraction found the app's sentences
    missing = sorted(str(m) for m in _ids(fresh) - _ids(korean))
    assert missing == [], f"run `make messages` and translate: {missing[:5]}"
    for message in fresh:
        if not message.id:
            continue
        entry = korean[message.id]
        english = message.id if isinstance(message.id, str) else message.id[0]
        texts = [entry.string] if isinstance(entry.string, str) else list(entry.string)
        assert texts and all(texts) and not entry.fuzzy, english
        for text in texts:
            assert sorted(set(FIELDS.findall(text))) == sorted(set(FIELDS.findall(english))), (english, text)
            # left in English only where the English is at most one word (a symbol, a name, "its {what}")
            assert HANGUL.search(text) or len(re.findall(r"[A-Za-z]{3,}", FIELDS.sub("", english))) <= 1, (english, text)


def test_korean_emphasis_closes_before_a_particle():
    """CommonMark does not close ``**`` after punctuation (a ``%``, a parenthesis) when a letter
    follows, so a Korean particle there would leave the asterisks on the screen."""
    with KO.open("rb") as f:
        korean = read_po(f, locale="ko")
    for message in korean:
        text = message.string if isinstance(message.string, str) else message.string[0]
        assert not re.search(r"(%\}|[^\w\s*{}])\*{1,2}[\uac00-\ud7a3]", text or ""), text


def test_plural_forms_follow_each_language():
    """English has two forms, Korean one (its catalogue's Plural-Forms header)."""
    assert i18n.ngettext("{n} minute", "{n} minutes", 1) == "1 minute"
    assert i18n.ngettext("{n} minute", "{n} minutes", 3) == "3 minutes"
    with i18n.using("ko"):
        assert i18n.ngettext("{n} minute", "{n} minutes", 1) == "1분"
        assert i18n.ngettext("{n} minute", "{n} minutes", 3) == "3분"
    assert str(Tn("{n} second", "{n} seconds", 2)) == "2 seconds"


def test_numbers_take_the_symbols_of_the_locale():
    """CLDR's symbols per locale (Babel): English and Korean write 1,234.5 alike; a locale that
    writes 1.234,5 gets it, so a new language needs no change to the sentences."""
    assert i18n._Formatter("ko").format_field(1234.5, ",.1f") == "1,234.5"
    assert i18n._Formatter("de").format_field(1234.5, ",.1f") == "1.234,5"
    assert i18n._Formatter("de").format_field("SE_2.1", "") == "SE_2.1"  # text is never touched


def test_language_tags_as_browsers_and_links_give_them():
    assert [i18n.normalise(t) for t in ("ko-KR", "KO", "en_US", "fr", "", None, "ko'><script>")] == \
        ["ko", "ko", "en", None, None, None, None]


def test_a_text_is_rendered_in_the_language_of_whoever_reads_it():
    text = T("{live} of {hidden}", live=3, hidden=T("stage {stage}", stage=2))
    assert text.en == "3 of stage 2"
    with i18n.using("ko"):
        assert str(text) == "스테이지 2개 중 3개"
        assert text.en == "3 of stage 2"


QUESTIONS = {
    "gate_length": lambda: lesson.gate_length("SE_3_1", 32, 8, 64, "cat"),
    "squeeze_value": lambda: lesson.squeeze_value(np.arange(16, dtype=float).reshape(4, 4) - 5, 3),
    "damped_channels": lambda: lesson.damped_channels(np.linspace(0.05, 0.95, 16), "SE_2_1"),
    "varied_stage": lambda: lesson.varied_stage({"SE_2_1": np.linspace(0, 1, 8), "SE_3_1": np.full(8, 0.5)}),
    "ablation_drop": lambda: lesson.ablation_drop({"n": 1000, "top1": {"none": 0.9, "off: stage 4": 0.7}}, "stage 4"),
}


@pytest.mark.parametrize("name", list(QUESTIONS))
def test_a_question_is_one_question_in_every_language(name):
    """Built on a Korean screen or an English one, a question has the same id, choices in the same
    order and the same answer: answers from both count together in a room."""
    with i18n.using("en"):
        english = QUESTIONS[name]()
        shown_en = [str(c) for c in english.choices]
    with i18n.using("ko"):
        korean = QUESTIONS[name]()
        shown_ko = [str(c) for c in korean.choices]
        prompt_ko = str(korean.prompt)

    def qid(q):
        return question_id(4, i18n.source(q.prompt), [i18n.source(c) for c in q.choices])

    assert qid(english) == qid(korean)
    assert english.answer == korean.answer
    assert [i18n.source(c) for c in english.choices] == [i18n.source(c) for c in korean.choices]
    assert HANGUL.search(prompt_ko) and not HANGUL.search(str(english.prompt))
    assert len(shown_ko) == len(shown_en)


# --- the app in Korean, through AppTest ------------------------------------------------------------------------------

#: Words that make a run of Latin words an English sentence rather than a name or a symbol.
FUNCTION_WORDS = {"the", "of", "and", "a", "an", "to", "in", "is", "are", "on", "for", "with", "by", "from", "this",
                  "that", "its", "it", "be", "as", "at", "or", "not", "no", "each", "every", "which", "what", "how",
                  "your", "you", "one", "than", "into", "has", "have", "was", "were", "there", "here"}


def english_sentences(text: str) -> list[str]:
    """Runs of four or more Latin words with at least one English function word, once LaTeX, code,
    icons and links are taken out: English prose, where names, symbols and numbers are not."""
    text = re.sub(r"\$[^$]*\$|`[^`]*`|:material/[a-z_]+:|https?://\S+|\\", " ", text)
    runs, run = [], []
    for token in re.findall(r"[A-Za-z][A-Za-z'’-]*|\d[\d.,%]*|[^\sA-Za-z\d]", text):
        if re.fullmatch(r"[A-Za-z][A-Za-z'’-]*", token):
            run.append(token)
            continue
        if token in ",()" and run:
            continue
        runs.append(run)
        run = []
    runs.append(run)
    return [" ".join(r) for r in runs if len(r) >= 4 and FUNCTION_WORDS & {w.lower() for w in r}]


def test_the_english_detector_finds_english_and_leaves_names():
    assert english_sentences("Choose both pictures to compare them.") == ["Choose both pictures to compare them"]
    assert english_sentences("사진 A: gallery: cat → airplane · 블록 SE_4_3 (C = 64), CIFAR ResNet-20") == []
    assert english_sentences("$\\tilde x_c = s_c\\,u_c$ (Hu et al., *Squeeze-and-Excitation Networks*)") == []


def main_texts(at) -> list[str]:
    """Every string the main area shows: values and labels of its elements (not the sidebar)."""
    found = []

    def walk(node):
        for attr in ("value", "label", "body"):
            value = getattr(node, attr, None)
            if isinstance(value, str):
                found.append(value)
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at.main)
    return found


PAGES = ["pages/lesson.py", "pages/inspect.py", "pages/compare.py", "pages/class_patterns.py", "pages/equations.py",
         "pages/architecture.py", "pages/ablation.py"]


def _page(page: str | None, **query):
    at = run_app(**query)
    if page:
        at.switch_page(page)
        at.run()
    assert_ok(at)
    return at


@pytest.fixture
def korean():
    """AppTest formats widget options in the test's thread, outside the app's session: there the
    language is Korean too, as it is in the session's own runs."""
    with i18n.using("ko"):
        yield


@pytest.mark.parametrize("page", [None, *PAGES])
def test_every_page_in_korean_leaves_no_english_sentence(page, korean):
    at = _page(page, lang="ko")
    texts = main_texts(at)
    assert any(HANGUL.search(t) for t in texts)
    left = [(t[:80], s) for t in texts for s in english_sentences(t)]
    assert left == []


@pytest.mark.parametrize("page", [None, *PAGES])
def test_without_a_language_no_page_has_hangul(page):
    at = _page(page)
    assert [t for t in main_texts(at) if HANGUL.search(t)] == []


def test_every_lesson_step_in_korean_with_its_answer_revealed(korean):
    at = _page("pages/lesson.py", lang="ko")
    for i, step in enumerate(lesson.STEPS):
        assert_ok(at)
        assert at.title[0].value == f"{i + 1}. {step.title}"
        for offer in ("lesson_gallery_stats", "lesson_gallery_ablation"):
            if any(b.key == offer for b in at.button):
                at.button(key=offer).click().run()
        reveal = [b for b in at.button if b.key and b.key.startswith("lesson_reveal")]
        if reveal:
            next(r for r in at.radio if r.key and r.key.startswith("lesson_choice")).set_value(0)
            reveal[0].click().run()
            assert_ok(at)
            assert any(HANGUL.search(e.value) for e in [*at.success, *at.warning])
        left = [(t[:80], s) for t in main_texts(at) for s in english_sentences(t)]
        assert left == [], step.key
        if i < len(lesson.STEPS) - 1:
            at.button(key="lesson_next").click().run()


def test_the_language_is_kept_across_pages_and_a_wrong_one_is_english():
    with i18n.using("ko"):
        at = _page(None, lang="ko")
        at.switch_page("pages/inspect.py")
        at.run()
    assert HANGUL.search(at.title[0].value)
    assert at.query_params["lang"] in ("ko", ["ko"])
    odd = _page(None, lang="xx")
    assert not any(HANGUL.search(t) for t in main_texts(odd))


def test_figures_drawn_by_matplotlib_have_a_font_with_hangul(monkeypatch):
    """The paper-style figure in Korean: every glyph found in NanumGothic (installed with the
    project), none drawn as a missing box; without the font, matplotlib says the glyphs are missing."""
    import warnings

    import torch

    from senet_viz.plots import base
    from senet_viz.plots.classes import excitation_static
    from senet_viz.stats import Accumulator

    acc = Accumulator({"SE_2_1": 8, "SE_3_1": 16}, 2)
    s = {b: torch.from_numpy(np.random.default_rng(c).uniform(0, 1, (6, c))) for b, c in (("SE_2_1", 8), ("SE_3_1", 16))}
    acc.add(torch.tensor([0, 1, 0, 1, 0, 1]), s, s)
    stats = acc.result(["cat", "ship"])

    from senet_viz.plots import classes

    def missing(**patch) -> list[str]:
        for name, value in patch.items():
            monkeypatch.setattr(classes, name, value)
        with warnings.catch_warnings(record=True) as seen, i18n.using("ko"):
            warnings.simplefilter("always")
            excitation_static(stats, fmt="png")
        return [str(w.message) for w in seen if "missing from font" in str(w.message)]

    assert base._register_hangul_font()
    assert missing() == []
    assert missing(hangul_ready=lambda fig: fig) != []


def test_the_command_line_speaks_english_whatever_the_machine_language():
    env = {"LANG": "ko_KR.UTF-8", "LC_ALL": "ko_KR.UTF-8", "LANGUAGE": "ko", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-m", "senet_viz", "models"], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0 and "se_resnet20_cifar10" in out.stdout
    assert not HANGUL.search(out.stdout + out.stderr)


def test_a_download_is_made_in_the_language_of_the_session_that_drew_its_button():
    """Streamlit makes a download button's file on a thread of no session: the figure would be
    English on a Korean screen unless the button's maker carries the session's language."""
    import threading

    from ui.base import spoken

    made = []
    with i18n.using("ko"):
        plain, carried = (lambda: i18n._("channel index")), spoken(lambda: i18n._("channel index"))
    for make in (plain, carried):
        thread = threading.Thread(target=lambda m=make: made.append(m()))
        thread.start()
        thread.join()
    assert made == ["channel index", "채널 번호"]


def test_a_picture_refused_in_korean_is_refused_in_english_for_the_next_session():
    """The decoded picture (or its error) is shared by sessions; its error is a sentence, so it is
    kept per language and never handed to another session in the first one's language."""
    from app_support import uploader

    broken = b"\x89PNG\r\n\x1a\nnot really, in two languages"
    said = {}
    for lang in ("ko", "en"):
        with i18n.using(lang):
            at = _page("pages/inspect.py", lang=lang)
            uploader(at, "uploads").upload("same.png", broken).run()
            said[lang] = [e.value for e in at.error]
    assert len(said["ko"]) == 1 and HANGUL.search(said["ko"][0])
    assert len(said["en"]) == 1 and "not a readable picture" in said["en"][0] and not HANGUL.search(said["en"][0])
