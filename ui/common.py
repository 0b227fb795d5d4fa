"""Streamlit glue shared by every page, and the one module pages ask: shipped artefacts, cached
captures and computations, the session's picture and block, and views two pages share. Drawing
and text helpers (``ui.base``), trust (``ui.trust``) and the model (``ui.models``) live in their
own modules and are offered here too.

One model per (name, weights) per process; captures are cached by the picture's hash
(st.cache_resource, bounded, shared read-only). Everything a session chooses lives in its own
st.session_state; the cached objects are read-only and shared.
"""


from __future__ import annotations

import functools
import hashlib
import io
import os

import streamlit as st

from senet_viz import artefacts, gallery, history, i18n, plots
from senet_viz.ablation import ablate, stage_accuracy
from senet_viz.capture import Capture, capture
from senet_viz.collect import compute_stats
from senet_viz.cost import CostReport, cost
from senet_viz.data import open_source
from senet_viz.errors import SenetVizError
from senet_viz.film import film_csv, film_sentence, provenance
from senet_viz.i18n import _
from senet_viz.images import load_image
from senet_viz.models import LoadedModel
from senet_viz.stats import ExcitationStats
from ui.base import (  # noqa: F401
    PLOTLY_CONFIG,
    WORD_JOINER,
    draw,
    error,
    paper_note,
    plain,
    readable_text,
    shared,
    spoken,
    sync_query_param,
    table,
    top_table,
)
from ui.models import (  # noqa: F401
    MAX_NAMES_FILE,
    active_model,
    adopt_model,
    cached_model,
    class_names_given,
    freeze_libraries,
    model_choices,
    model_key,
    model_spec,
    models,
    need_se_blocks,
    route_through_app,
    sidebar,
    store_weights,
    threads,
    weights_label,
)
from ui.trust import (  # noqa: F401
    PASSWORD_TRIES_PER_PROCESS,
    PASSWORD_TRIES_PER_SESSION,
    client_address,
    lecturer_password,
    lecturer_refusal,
    password_needed,
    password_tries,
    self_check,
    trusted,
)

CAPTURE_CACHE_ENTRIES = int(os.environ.get("SENET_VIZ_CAPTURE_CACHE", "128"))


@st.cache_resource(max_entries=8)
def _shipped(_model: LoadedModel, key: tuple[str, str], digest: str | None) -> dict:
    return {"stats": artefacts.shipped_stats(_model), "ablation": artefacts.shipped_ablation(_model),
            "card": artefacts.model_card(_model), "twin": artefacts.twin_card(_model), "film": artefacts.shipped_film(_model)}


def shipped(model: LoadedModel) -> dict:
    """The shipped artefacts that belong to the loaded weights (``senet_viz.artefacts``): stats,
    ablation and the training film as ``Artefact`` (value or the reason it is withheld), the model's
    and its twin's cards."""
    return _shipped(model, model_key(model), model.weights_sha256)


def matching_stats(model: LoadedModel) -> ExcitationStats | None:
    """Statistics of the loaded weights: shipped ones when their hash matches, else those this
    session computed on the Class patterns page for exactly these weights."""
    art = shipped(model)["stats"]
    if art.value is not None:
        return art.value
    own = st.session_state.get("computed_stats")
    return own if own is not None and artefacts.stats_matches(own, model) else None


# Captures and decoded pictures are shared read-only between sessions (st.cache_resource):
# st.cache_data would pickle them on every hit, which cost more than the forward itself.
@st.cache_resource(max_entries=CAPTURE_CACHE_ENTRIES, show_spinner=False)
def cached_capture(_model: LoadedModel, key: tuple[str, str], picture_hash: str, _picture, maps: tuple[str, ...] = ()) -> Capture:
    """Capture of one picture, cached by (model, picture hash, blocks with maps)."""
    return capture(_model, [_picture], maps=list(maps))


# Cached here rather than in the page scripts: a page script runs anew at every rerun, and a cache
# decorator there makes Streamlit read the function's source again each time.
# No spinner: this is asked at every rerun of the Architecture page and of the Lesson's cost step
# (every follower of a room), and a spinner is an element and a timer thread per call, hit or miss;
# a miss takes about a second once per model and r, while the page shows that it is running.
@st.cache_resource(max_entries=32, show_spinner=False)
def cached_cost(_model: LoadedModel, key: tuple[str, str], reduction: float | None, floor: bool = True) -> CostReport:
    return cost(_model, reduction, floor=floor)


@st.cache_resource(max_entries=4, show_spinner=False)
def _gallery_stats(_model: LoadedModel, key: tuple[str, str], digest: str | None) -> ExcitationStats:
    # workers=0: no loader processes forked from the server
    return compute_stats(_model, open_source(gallery.CIFAR_DIR), batch_size=50, workers=0)


def gallery_stats(model: LoadedModel, key: tuple[str, str], digest: str | None) -> ExcitationStats:
    with st.spinner(_("Statistics of the gallery's CIFAR-10 test pictures…")):
        return _gallery_stats(model, key, digest)


@st.cache_resource(max_entries=4, show_spinner=False)
def _gallery_ablation(_model: LoadedModel, key: tuple[str, str], digest: str | None) -> dict:
    return stage_accuracy(_model, open_source(gallery.CIFAR_DIR), batch_size=100)


def gallery_ablation(model: LoadedModel, key: tuple[str, str], digest: str | None) -> dict:
    with st.spinner(_("Accuracy of the gallery's pictures with SE switched off, stage by stage…")):
        return _gallery_ablation(model, key, digest)


@st.cache_resource(max_entries=16, show_spinner=False)
def shared_ablation(_model: LoadedModel, key: tuple[str, str], picture_hash: str, _picture, blocks: tuple[str, ...]):
    return ablate(_model, [_picture], list(blocks), "off")


def decode(data: bytes, name: str):
    """Bytes -> (RGB picture, None) or (None, one-line error), decoded once per picture (the error
    once per language: it is a sentence)."""
    return _decode(picture_hash(data), data, name, i18n.language())


@st.cache_resource(max_entries=64, show_spinner=False)
def _decode(digest: str, _data: bytes, name: str, lang: str):
    try:
        return load_image(_data), None
    except SenetVizError as exc:
        return None, f"{name}: {exc}".replace("picture: ", "")


@st.cache_resource(show_spinner=False)
def test_split():
    """The CIFAR-10 test split when it is on this machine (``senet_viz.data.cifar10_test_source``;
    never downloaded just to fill the gallery), or None."""
    from senet_viz.data import cifar10_test_source, open_source

    spec = cifar10_test_source(download=False)
    if spec is None:
        return None
    try:
        return open_source(spec)
    except SenetVizError:
        return None


def test_picture_index(cls: str, k: int = 0) -> int | None:
    """Index of the k-th test picture of class ``cls`` in file order (test/<class>/NNNN.jpg)."""
    source = test_split()
    if source is None or cls not in source.class_names:
        return None
    label = source.class_names.index(cls)
    found = [i for i, y in enumerate(source.labels) if y == label]
    return found[k] if 0 <= k < len(found) else None


@st.cache_resource(max_entries=128, show_spinner=False)  # the same bytes object each time: its digest is kept
def gallery_bytes(key: str) -> bytes:
    return gallery.picture_bytes(key)


def use_gallery_picture(key: str) -> None:
    """Make the gallery picture ``key`` the session's picture."""
    set_picture(f"gallery: {key}", gallery_bytes(key), key=key)


def gallery_picker(prefix: str, wanted: str | None, cifar_model: bool, on_pick=None) -> str:
    """A class (or the photos), then one of its gallery pictures; the chosen gallery key.
    ``on_pick(key)`` runs when the user picks another class or picture."""
    wanted = gallery.resolve(wanted) or "cat"
    group_key = f"{prefix}_group"
    st.session_state.setdefault(group_key, gallery.group(wanted))

    def pick_key(group: str) -> str:
        return f"{prefix}_pick_{group}"  # one radio per class, so its value is always one of its options

    def picked() -> None:
        # The browser may send a stale or empty value (a widget drawn anew after the model's class
        # names changed): only a key of the gallery is ever used.
        group = st.session_state.get(group_key)
        options = gallery.in_group(group) if group in gallery.groups() else []
        pick = st.session_state.get(pick_key(group))
        if on_pick is not None and options:
            on_pick(pick if pick in options else options[0])

    group = st.selectbox(_("Class"), gallery.groups(), key=group_key, on_change=picked,
                         format_func=lambda g: _("photos (scikit-image)") if g == gallery.PHOTOS_GROUP
                         else _("{cls} (CIFAR-10 test pictures)", cls=g))
    options = gallery.in_group(group)
    st.session_state.setdefault(pick_key(group), wanted if wanted in options else options[0])
    return st.radio(_("Picture"), options, horizontal=True, key=pick_key(group), on_change=picked,
                    format_func=lambda key: gallery.caption(key, cifar_model))


def image_bytes(img) -> bytes:
    """A PIL picture as PNG bytes (what the capture cache keys on)."""
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


@functools.lru_cache(maxsize=64)
def picture_hash(data: bytes) -> str:
    """SHA-256 of a picture's bytes, once per picture: every rerun of every session showing it asks
    again, and a bytes object keeps its own hash, so the lookup does not read the bytes again."""
    return hashlib.sha256(data).hexdigest()


def thumbnail(picture, digest: str, width: int) -> bytes:
    """``picture`` at most ``width`` pixels wide, as PNG bytes made once per picture (``digest``):
    ``st.image`` then sends them as they are instead of resizing and encoding at every rerun."""
    def make() -> bytes:
        small = picture.copy()
        small.thumbnail((width, width * 4))
        return image_bytes(small)

    return shared("thumbnail", (digest, width), make)


def current_picture() -> tuple[str, bytes] | None:
    return st.session_state.get("picture")


def set_picture(name: str, data: bytes, source: str = "gallery", key: str | None = None) -> None:
    st.session_state.picture = (name, data)
    st.session_state.picture_source = source
    st.session_state.picture_key = key


def link_note() -> None:
    """A link made with an uploaded or camera picture cannot carry it: say so instead of
    silently showing another picture."""
    wanted = st.query_params.get("picture")
    if wanted in ("upload", "camera") and current_picture() is None:
        st.info(_("This link was made with an uploaded picture; pictures that were uploaded or taken are not part of "
                  "links, so the gallery's cat is shown instead.") if wanted == "upload" else
                _("This link was made with a picture from the camera; pictures that were uploaded or taken are not part "
                  "of links, so the gallery's cat is shown instead."), icon=":material/link_off:")
        st.session_state.link_note_shown = True


def picture_or_default() -> tuple[str, bytes]:
    """The session's picture; on a fresh session, the gallery picture the link names (the cat
    by default). The link is kept in step: a gallery key, or 'upload'/'camera'."""
    pic = current_picture()
    if pic is None:
        use_gallery_picture(gallery.resolve(st.query_params.get("picture")) or "cat")
        pic = current_picture()
    source = st.session_state.get("picture_source", "gallery")
    sync_query_param("picture", st.session_state.get("picture_key") if source == "gallery" else source)
    return pic


def capture_picture(model: LoadedModel, name: str, data: bytes, maps: tuple[str, ...] = ()):
    picture, problem = decode(data, name)
    if problem:
        error(problem)
        return None, None
    return picture, cached_capture(model, model_key(model), picture_hash(data), picture, maps)


def block_picker(model: LoadedModel, label: str | None = None, default: str | None = None, key: str = "block") -> str:
    names = [b.name for b in model.blocks]
    wanted = st.query_params.get("block", default or names[-1])
    if st.session_state.get(key) not in names:
        st.session_state[key] = wanted if wanted in names else names[-1]
    name = st.selectbox(label or _("SE block"), names, key=key)
    sync_query_param("block", name)
    return name


def training_history(card: dict | None, twin: dict | None, *, loss: bool = True) -> None:
    """How SE came alive over training (the card's SE health epoch by epoch) and, with ``loss``, the
    training loss beside the twin's; for weights without a history, one line saying why."""
    h, why = history.history(card)
    if h is None:
        st.caption(_("No training history to show: {why}.", why=why))
        return
    if loss:
        t, why_twin = history.history(twin)
        if t is None:
            st.caption(_("No training curve of a twin without SE: {why}.", why=why_twin))
        else:
            draw(plots.training_loss(history.loss_table(h, t)))
            st.caption(plain(history.loss_summary(h, t)))
    if h.health:
        draw(plots.training_health(history.health_table(h)))
        st.caption(plain(history.health_summary(h)) + " " + _("Probe: the card's fixed training pictures, after every epoch."))


def film_view(model: LoadedModel, prefix: str = "film") -> None:
    """The training film of the loaded weights: the excitation figure of a chosen block and classes,
    played over the epochs (slider and play button in the chart), each stage's class-specificity over
    the epochs, one sentence computed from the film, and the exports; one line where there is none."""
    art = shipped(model)["film"]
    if art.value is None:
        st.caption(_("No training film for these weights: {why}.", why=plain(art.reason)))
        return
    film = art.value
    key = (model.weights_sha256,)
    c1, c2, c3 = st.columns([1, 2, 2])
    block = c1.selectbox(_("Block"), film.blocks, index=len(film.blocks) - 1, key=f"{prefix}_block")
    classes = c2.multiselect(_("Classes"), film.class_names, default=film.class_names[:4], max_selections=10,
                             key=f"{prefix}_classes") or film.class_names[:4]
    epoch = c3.select_slider(_("Start at epoch"), film.epochs, value=film.epochs[-1], key=f"{prefix}_epoch",
                             format_func=lambda e: plots.frame_label(film, e, bare=True))
    left, right = st.columns(2)
    with left:
        draw(shared("film-figure", (*key, block, tuple(classes), epoch),
                    lambda: plots.film_figure(film, block, classes, epoch)), key=f"{prefix}_figure")
        st.caption(_("Class-mean s per channel of {block} (dashed: all classes) at each epoch; ▶ plays the epochs, the "
                     "slider under the chart moves through them.", block=block))
    with right:
        draw(shared("film-specificity", (*key, epoch), lambda: plots.specificity_figure(film, epoch)),
             key=f"{prefix}_specificity")
        st.caption(plain(shared("film-sentence", key, lambda: film_sentence(film))))
    st.caption(plain(provenance(film)))
    d1, d2, d3 = st.columns(3)
    fmt = d1.selectbox(_("Export the frame as"), ["png", "svg"], key=f"{prefix}_fmt")
    d2.download_button(_("Epoch {epoch} figure ({format})", epoch=epoch, format=fmt.upper()), file_name=f"film-{block}-epoch{epoch}.{fmt}",
                       on_click="ignore", key=f"{prefix}_download_figure",
                       data=spoken(lambda: plots.excitation_static(film.stats(epoch), [block], classes, subset="all",
                                                                   fmt=fmt)))
    d3.download_button(_("The film's numbers (CSV)"), file_name="film.csv", mime="text/csv", on_click="ignore",
                       key=f"{prefix}_download_csv", data=lambda: film_csv(film))


def stats_key(stats: ExcitationStats) -> tuple:
    """What a result computed from ``stats`` depends on, for ``shared``: its source and weights."""
    meta = stats.meta
    return (meta.get("source_sha256"), meta.get("weights_sha256"), stats.total, meta.get("seconds"))
