"""The message catalogue: every sentence a person reads, English as the source, Korean beside it.

The catalogue is gettext's (``locale/<lang>/LC_MESSAGES/senet_viz.po``, extracted from the code with
Babel's ``pybabel extract``: ``make messages``), read with Babel and served by the standard library's
``gettext``, so plural rules come from the catalogue's header and any gettext tool can edit it.

- ``_("msgid", **params)``: the sentence in the current language, its named placeholders filled;
- ``ngettext(singular, plural, n, **params)``: the same with a plural form chosen by ``n``;
- ``T("msgid", **params)``: a ``Text`` that is rendered when it is shown, in the language of the
  one who reads it (module-level titles, a Lesson question shared by a room). ``Text.en`` is its
  English, the language-independent identity of a question.

The current language is the one set with ``using`` (a context manager), else what the registered
``resolver`` returns (the app registers the session's choice), else English, which the command
line always speaks. Numbers inside placeholders keep their format spec and take the locale's
decimal and group symbols (CLDR's, from Babel).
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import gettext
import io
import re
import string
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

SOURCE = "en"
#: The languages the app speaks, each named in itself.
LANGUAGES = {"en": "English", "ko": "한국어"}
DOMAIN = "senet_viz"
LOCALE_DIR = Path(__file__).with_name("locale")

_explicit: contextvars.ContextVar[str | None] = contextvars.ContextVar("senet_viz_language", default=None)
_resolver: Callable[[], str | None] | None = None


def set_resolver(resolver: Callable[[], str | None] | None) -> None:
    """Where the language comes from when no ``using`` is active (the app: the session's choice)."""
    global _resolver
    _resolver = resolver


def language() -> str:
    lang = _explicit.get()
    if lang is None and _resolver is not None:
        lang = _resolver()
    return lang if lang in LANGUAGES else SOURCE


@contextlib.contextmanager
def using(lang: str) -> Iterator[None]:
    """Speak ``lang`` inside the block (in this thread or task only)."""
    token = _explicit.set(normalise(lang) or SOURCE)
    try:
        yield
    finally:
        _explicit.reset(token)


def normalise(tag: str | None) -> str | None:
    """One of ``LANGUAGES`` for a language tag as browsers and links give it ("ko-KR", "EN"), else None."""
    if not tag:
        return None
    primary = re.split(r"[-_]", str(tag).strip().lower(), maxsplit=1)[0]
    return primary if primary in LANGUAGES else None


@functools.cache
def translations(lang: str) -> gettext.NullTranslations:
    """The catalogue of ``lang`` compiled in memory (English: the source itself)."""
    if lang == SOURCE:
        return gettext.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with (LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as po:
        catalog = read_po(po, locale=lang, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)  # fuzzy entries left out: a doubtful translation shows the English
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


@functools.cache
def _symbols(lang: str) -> dict[int, str] | None:
    if lang == SOURCE:  # English writes numbers as Python does
        return None
    from babel import numbers

    decimal, group = numbers.get_decimal_symbol(lang), numbers.get_group_symbol(lang)
    return None if (decimal, group) == (".", ",") else {ord("."): decimal, ord(","): group}


class _Formatter(string.Formatter):
    """str.format whose numbers take the locale's symbols, and whose ``Text`` values are rendered
    in the same language."""

    def __init__(self, lang: str) -> None:
        self.lang = lang

    def format_field(self, value, format_spec: str) -> str:
        if isinstance(value, (Text, tuple)):
            return format(_rendered(value, self.lang), format_spec)
        text = format(value, format_spec)
        symbols = _symbols(self.lang)
        if symbols and isinstance(value, (int, float)) and not isinstance(value, bool):
            text = text.translate(symbols)
        return text


def _rendered(value, lang: str):
    """A parameter as ``str.format`` takes it: a ``Text`` rendered, a tuple of parts joined."""
    if isinstance(value, Text):
        return value.render(lang)
    if isinstance(value, tuple):
        return ", ".join(str(_rendered(part, lang)) for part in value)
    return value


def _fill(template: str, lang: str, params: dict) -> str:
    if not params:
        return template
    if _symbols(lang) is None:  # the locale writes numbers as Python does: str.format itself (a sentence a
        # follower's every run renders dozens of times; the Formatter class is ten times slower)
        return template.format(**{k: _rendered(v, lang) for k, v in params.items()})
    return _Formatter(lang).vformat(template, (), params)


def _(msgid: str, /, **params) -> str:
    """``msgid`` in the current language, with its named placeholders filled."""
    lang = language()
    return _fill(translations(lang).gettext(msgid), lang, params)


def ngettext(singular: str, plural: str, n: int, /, **params) -> str:
    lang = language()
    return _fill(translations(lang).ngettext(singular, plural, n), lang, {"n": n, **params})


@dataclass(frozen=True)
class Text:
    """A sentence rendered when it is read: ``str(text)`` in the current language, ``text.en`` in
    English. Parameters may be ``Text`` themselves (rendered in the same language)."""

    msgid: str
    params: tuple = ()
    plural: str | None = None

    def render(self, lang: str) -> str:
        params = dict(self.params)
        if self.plural is None:
            return _fill(translations(lang).gettext(self.msgid), lang, params)
        return _fill(translations(lang).ngettext(self.msgid, self.plural, params["n"]), lang, params)

    @property
    def en(self) -> str:
        return self.render(SOURCE)

    def __str__(self) -> str:
        return self.render(language())


def N_(msgid: str) -> str:
    """Marks a msgid for the catalogue where it is translated later (``T(msgid, ...)``, ``_(msgid)``)."""
    return msgid


def T(msgid: str, /, **params) -> Text:
    return Text(msgid, tuple(params.items()))


def Tn(singular: str, plural: str, n: int, /, **params) -> Text:
    return Text(singular, tuple({"n": n, **params}.items()), plural)


def source(value) -> str:
    """The English of a ``Text``, anything else as it is: what identities and exports are made of."""
    return value.en if isinstance(value, Text) else str(value)
