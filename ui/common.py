"""Streamlit glue shared by every page: the model picker, cached model and captures, pictures.

Nothing here computes: it wires widgets to senet_viz functions and caches their results.
One model per (name, weights) per process (st.cache_resource); captures are cached by the
picture's hash (st.cache_resource, bounded, shared read-only). Everything a session chooses lives in its own
st.session_state; the cached objects are read-only and shared.
"""

from __future__ import annotations

import functools
import gc
import hashlib
import io
import math
import os
import re
from pathlib import Path

import pyarrow as pa
import streamlit as st
import torch

from senet_viz import artefacts, gallery, guard, history, machine, plots
from senet_viz.ablation import ablate, stage_accuracy
from senet_viz.capture import Capture, capture
from senet_viz.collect import compute_stats
from senet_viz.cost import CostReport, cost
from senet_viz.data import open_source
from senet_viz.errors import ClassNamesError, SenetVizError, UnknownModel
from senet_viz.film import film_csv, film_sentence, provenance
from senet_viz.images import load_image
from senet_viz.models import DEFAULT_MODEL, RANDOM, LoadedModel, list_models, load_model, weights_available
from senet_viz.models.blocks import zero_initialised_norms
from senet_viz.models.budget import MAX_PARAMS
from senet_viz.models.cache import ModelCache
from senet_viz.models.classes import names_from_text
from senet_viz.models.code import code_models_allowed, is_code_name, refuse_code_unless_allowed
from senet_viz.models.project import PROJECT_MODELS
from senet_viz.rooms import PASSWORD_ENV, start_refusal
from senet_viz.stats import ExcitationStats
from ui import internals

PLOTLY_CONFIG = {"displaylogo": False, "toImageButtonOptions": {"format": "png", "scale": 2}}


def draw(figure, where=None, key: str | None = None) -> None:
    """A chart across ``where`` (the page by default): a Plotly figure with the app's toolbar, or a
    Vega-Lite ``plots.Chart`` with its data sent apart from its spec. ``key`` tells apart two
    Plotly charts of the same figure."""
    where = where or st
    if isinstance(figure, plots.Chart):
        # Canvas rather than SVG (Streamlit's choice below 2,000 marks): no DOM node per bar or cell
        # for the browser to restyle when a new picture's data replaces the old.
        spec = {**figure.spec, "usermeta": {"embedOptions": {"renderer": "canvas"}}}
        where.vega_lite_chart(figure.data, spec, width="stretch", height=figure.spec.get("height", "content"))
    else:
        where.plotly_chart(figure, config=PLOTLY_CONFIG, width="stretch", key=key)


def table(columns: dict) -> pa.Table:
    """Named columns (lists or arrays of one length) as an Arrow table, which ``st.dataframe`` sends
    as it is; a dict would go through pandas at every rerun of every session showing it."""
    return pa.table({str(k): v for k, v in columns.items()})


CAPTURE_CACHE_ENTRIES = int(os.environ.get("SENET_VIZ_CAPTURE_CACHE", "128"))


def threads() -> None:
    # One process serves every session: torch's intra-op pool uses the cores this process may
    # run on (or SENET_VIZ_THREADS), and sessions queue on them rather than oversubscribing.
    torch.set_num_threads(machine.threads())


@st.cache_resource(show_spinner=False)
def models() -> ModelCache:
    """This process's loaded models (``senet_viz.models.cache``): shared by every session, bounded
    by count and by parameters, built one at a time."""
    return ModelCache()


def cached_model(name: str, weights: str | None, classes: tuple[str, ...] | None = None) -> LoadedModel:
    """The model ``name`` with ``weights`` and the class names a browser gave (names, never a path),
    built under the server's parameter budget (``senet_viz.models.budget``)."""
    refuse_code_unless_allowed(name)  # also for a link naming one: the function would run here

    def build() -> LoadedModel:
        threads()
        with st.spinner("Loading the model…"):
            model = load_model(name, weights=weights, classes=list(classes) if classes else None, max_params=MAX_PARAMS)
        freeze_libraries()
        return model

    return models().get((name, weights, classes), build)


@st.cache_resource(show_spinner=False)
def freeze_libraries() -> None:
    """Once per process, after the first model: the libraries it imported (torch, timm, plotly) live
    as long as the process; moved out of the collector's view, a full collection (it walks every
    tracked object, ~250 ms here with torch loaded, holding the GIL) no longer rescans them when a
    class's reruns arrive at once. Models loaded later stay in view, so an evicted one is freed."""
    gc.collect()
    gc.freeze()


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


def model_choices() -> list[str]:
    return [e.name for e in list_models()]


def sync_query_param(key: str, value: str | None) -> None:
    if value is None:
        st.query_params.pop(key, None)
    elif st.query_params.get(key) != value:
        st.query_params[key] = value


def sidebar() -> None:
    """The model picker, kept across pages through st.session_state and in the page link."""
    st.session_state._through_app = True  # app.py draws this sidebar before every page
    choices = model_choices()
    adopted = st.session_state.pop("adopt_model", None)  # a room's model, set before the widgets are drawn
    if adopted:
        name, weights = adopted
        st.session_state.model_name = name
        st.session_state.model_choice = name if name in choices else "other…"
        st.session_state.model_other = "" if name in choices else name
        st.session_state.weights_choice = weights
    if "model_name" not in st.session_state:
        wanted = st.query_params.get("model", DEFAULT_MODEL)
        st.session_state.model_name = wanted
        st.session_state.model_choice = wanted if wanted in choices else "other…"
        st.session_state.model_other = "" if wanted in choices else wanted
        st.session_state.weights_choice = "random" if st.query_params.get("weights") == RANDOM else "default"
    with st.sidebar:
        st.markdown("### Model")
        choice = st.selectbox("Network", [*choices, "other…"], key="model_choice",
                              help="Any timm or torchvision network with SE blocks; ImageNet weights need one download.")
        name = choice
        if choice == "other…":
            label = "timm or torchvision name, or package.module:function" if code_models_allowed() else "timm or torchvision name"
            name = st.text_input(label, key="model_other", placeholder="e.g. seresnet101",
                                 help="package.module:function: a network your code builds (allowed on this server)"
                                 if code_models_allowed() else None).strip() or DEFAULT_MODEL
            if is_code_name(name) and code_models_allowed() and not trusted() and lecturer_password():
                st.text_input("Lecturer password", type="password", key="code_password", on_change=_verify_password,
                              args=("code_password",), help="Networks from code run only for a browser on this "
                              "server's own machine or a session that typed the lecturer password.")
        st.radio("Weights", ["default", "random", "file"], key="weights_choice", horizontal=True,
                 help="default: the shipped or pretrained weights; random: random initialisation (degenerate pictures); "
                      "file: a .safetensors, .pth or .pt file of your own (never executed).")
        if st.session_state.weights_choice == "file":
            up = st.file_uploader("Weights file", type=["safetensors", "pth", "pt"], key="weights_file")
            st.session_state.weights_path = store_weights(up.getvalue(), up.name) if up is not None else None
            st.text_input("Class names", key="class_names_text", placeholder="a, b, c (default: the file's own)",
                          help="Comma-separated, in the order of the classifier's outputs. Left empty: the names in the "
                               "file's safetensors metadata (class_names), else class 0, class 1, ...")
            st.file_uploader("or a class names file", type=["txt", "json"], key="class_names_file",
                             help="One name a line (.txt), or a JSON list (.json); it replaces the typed names.")
        st.session_state.model_name = name
        try:
            if name in choices and st.session_state.weights_choice == "default" and not weights_available(name):
                if name in PROJECT_MODELS:
                    st.caption(":material/model_training: This project model is not trained yet: no weights are shipped.")
                else:
                    st.caption(":material/cloud_download: The default weights of this model need a download (internet).")
        except SenetVizError:
            pass
    sync_query_param("model", None if name == DEFAULT_MODEL else name)
    sync_query_param("weights", RANDOM if st.session_state.weights_choice == "random" else None)


def store_weights(data: bytes, name: str) -> str:
    from senet_viz.data import cache_root

    return str(artefacts.store_weights(data, name, cache_root() / "uploaded-weights"))


def route_through_app() -> None:
    """Streamlit runs a file of pages/ by itself (its older pages-folder mode) when a session's
    first request is a page's link before any session of the process has run app.py: no sidebar,
    no model picker, no link parameters. Switch the process to app.py's navigation and rerun, so
    a shared link works on a freshly started server too."""
    # Only for a session that has never been through app.py: Streamlit's AppTest re-enters the
    # pages-folder mode on every run, and a rerun there would swallow the click that caused it.
    if not st.session_state.get("_through_app") and internals.leave_pages_directory_mode():
        st.rerun()


def active_model() -> LoadedModel:
    """The session's model; on an error, one line and the embedded default instead."""
    route_through_app()
    adopted = st.session_state.get("adopt_model")  # a room's model not yet set in the sidebar's widgets
    if adopted:
        st.session_state.model_name, st.session_state.weights_choice = adopted
    name = st.session_state.get("model_name", DEFAULT_MODEL)
    # the radio's state; where the sidebar has not run (a page run on its own, as by AppTest), the
    # file this session uploaded or the link's random weights
    choice = (st.session_state.get("weights_choice") or ("file" if st.session_state.get("weights_path") else None)
              or ("random" if st.query_params.get("weights") == RANDOM else None))
    weights = RANDOM if choice == "random" else st.session_state.get("weights_path") if choice == "file" else None
    try:
        refuse_code_unless_allowed(name)
        if is_code_name(name) and not trusted():
            raise UnknownModel(st.session_state.pop("password_refusal", None) or f"{name}: networks built by code run only "
                               "for a browser on this server's own machine or a session that typed the lecturer password")
        classes = class_names_given() if choice == "file" else None
        model = cached_model(name, weights, classes)
    except SenetVizError as exc:
        # the fallback keeps the weights kind the radio shows where it can (random stays random)
        fallback = RANDOM if weights == RANDOM or not weights_available(DEFAULT_MODEL) else None
        if (name, weights) == (DEFAULT_MODEL, fallback):
            raise
        shown = "random weights" if fallback == RANDOM else "its shipped weights"
        error(f"{exc}. Showing {DEFAULT_MODEL} with {shown} instead.")
        model = cached_model(DEFAULT_MODEL, fallback)
    if model.random_weights:
        zeroed = zero_initialised_norms(model.net)
        note = (f" {zeroed} of its BatchNorm layers start at zero (timm's zero-initialised last BatchNorm of each residual "
                "branch), so U = 0 in the SE blocks that follow them." if zeroed else "")
        st.warning(f"{model.name} has random weights: its predictions and excitations are meaningless.{note}",
                   icon=":material/casino:")
    with st.sidebar:
        device = torch.cuda.get_device_name(model.device) if model.device.type == "cuda" else "CPU"
        st.caption(f"Running: **{plain(model.name)}** · weights: {plain(weights_label(model))} · "
                   f"{len(model.blocks)} SE blocks · {device}")
    return model


#: A class names file larger than this is refused before it is read as text.
MAX_NAMES_FILE = 2_000_000


def class_names_given() -> tuple[str, ...] | None:
    """The class names this browser gave for its weights file: an uploaded .txt/.json file, else the
    typed list; never a path on this server (a path typed here is one name like any other)."""
    upload = st.session_state.get("class_names_file")
    if upload is not None:
        if upload.size > MAX_NAMES_FILE:
            raise ClassNamesError(f"{upload.name}: a class names file is at most {MAX_NAMES_FILE // 1_000_000} MB")
        try:
            text = upload.getvalue().decode("utf-8")
        except UnicodeDecodeError:
            raise ClassNamesError(f"{upload.name}: not a UTF-8 text file") from None
        return tuple(names_from_text(text, upload.name))
    typed = (st.session_state.get("class_names_text") or "").strip()
    return tuple(names_from_text(typed, "class names typed")) if typed else None


def client_address() -> str | None:
    """The browser's address as this server sees it, loopback included (``st.context.ip_address``
    gives None for loopback, as for no address at all). A request that came through a proxy
    counts as from elsewhere (None): behind a proxy every browser would look local."""
    if guard.through_proxy(st.context.headers):
        return None
    return internals.client_ip(fallback=st.context.ip_address)


@st.cache_resource(show_spinner=False)
def self_check() -> None:
    """Once per process: which features are off because this Streamlit lacks an internal."""
    internals.report_once()


def lecturer_password() -> str | None:
    """The operator's lecturer password: the environment, else Streamlit's secrets; None if unset."""
    configured = os.environ.get(PASSWORD_ENV, "")
    if not configured:
        try:
            configured = str(st.secrets.get("lecturer_password", "") or "")
        except Exception:  # noqa: BLE001 - no secrets file: Streamlit raises its own error types
            configured = ""
    return configured or None


@st.cache_resource(show_spinner=False)
def password_tries() -> guard.Limiter:
    """Lecturer password tries: per session and for the whole process, in any minute."""
    return guard.Limiter(PASSWORD_TRIES_PER_SESSION, PASSWORD_TRIES_PER_PROCESS, 60.0)


PASSWORD_TRIES_PER_SESSION = 5
PASSWORD_TRIES_PER_PROCESS = int(os.environ.get("SENET_VIZ_PASSWORD_TRIES", 20))


def lecturer_refusal(given: str | None) -> str | None:
    """Why this session may not act as the lecturer (one line), or None when it may
    (``rooms.start_refusal``); a session that typed the password once is not asked again. Wrong
    passwords are limited: five tries a minute per session, and a ceiling for the process."""
    configured = lecturer_password()
    if configured and st.session_state.get("lecturer_verified"):
        return None
    if configured and given:
        session = st.session_state.setdefault("password_session", os.urandom(8).hex())
        if not password_tries().allow(session):
            wait = max(1, math.ceil(password_tries().wait(session)))
            return f"too many lecturer password tries: try again in {wait} s"
    refused = start_refusal(configured, given, client_address())
    if refused is None and configured:
        st.session_state.lecturer_verified = True
    return refused


def _verify_password(key: str) -> None:
    """A lecturer password typed outside the room panel: kept as this session's trust, or one line."""
    refused = lecturer_refusal(st.session_state.pop(key, None))
    if refused:
        st.session_state.password_refusal = refused


def trusted() -> bool:
    """Whether this session may do what only the person at the machine may (build a network from
    code, start a room without a password): a browser on this machine, or a session that typed the
    lecturer password."""
    return bool(st.session_state.get("lecturer_verified")) or guard.is_loopback(client_address())


def weights_label(model: LoadedModel) -> str:
    if model.random_weights:
        return "random"
    if model.weights.startswith(("shipped", "pretrained")):
        return model.weights
    return Path(model.weights).name  # an uploaded file, by the name it was uploaded with (never its server path)


def model_key(model: LoadedModel) -> tuple[str, str]:
    """What a cached result made with this model depends on: the network, its weights and the class
    names it was loaded with (one weights file may be loaded with other names by another session)."""
    names = hashlib.sha256("\n".join(model.class_names).encode()).hexdigest()[:12]
    return (model.name, f"{model.weights}#{names}")


# Captures and decoded pictures are shared read-only between sessions (st.cache_resource):
# st.cache_data would pickle them on every hit, which cost more than the forward itself.
@st.cache_resource(max_entries=CAPTURE_CACHE_ENTRIES, show_spinner=False)
def cached_capture(_model: LoadedModel, key: tuple[str, str], picture_hash: str, _picture, maps: tuple[str, ...] = ()) -> Capture:
    """Capture of one picture, cached by (model, picture hash, blocks with maps)."""
    return capture(_model, [_picture], maps=list(maps))


@st.cache_resource(max_entries=64, show_spinner=False)
def shared(kind: str, key: tuple, _build):
    """A figure or result built once per ``(kind, key)`` and shared read-only by every session:
    ``key`` must name everything it is made from (model, picture hash, block, ...). A classroom
    that follows one lecturer asks for the same things at the same moment."""
    return _build()


# Cached here rather than in the page scripts: a page script runs anew at every rerun, and a cache
# decorator there makes Streamlit read the function's source again each time.
@st.cache_resource(max_entries=32, show_spinner="Counting parameters and FLOPs…")
def cached_cost(_model: LoadedModel, key: tuple[str, str], reduction: float | None, floor: bool = True) -> CostReport:
    return cost(_model, reduction, floor=floor)


@st.cache_resource(max_entries=4, show_spinner="Statistics of the gallery's CIFAR-10 test pictures…")
def gallery_stats(_model: LoadedModel, key: tuple[str, str], digest: str | None) -> ExcitationStats:
    # workers=0: no loader processes forked from the server
    return compute_stats(_model, open_source(gallery.CIFAR_DIR), batch_size=50, workers=0)


@st.cache_resource(max_entries=4, show_spinner="Accuracy of the gallery's pictures with SE switched off, stage by stage…")
def gallery_ablation(_model: LoadedModel, key: tuple[str, str], digest: str | None) -> dict:
    return stage_accuracy(_model, open_source(gallery.CIFAR_DIR), batch_size=100)


@st.cache_resource(max_entries=16, show_spinner=False)
def shared_ablation(_model: LoadedModel, key: tuple[str, str], picture_hash: str, _picture, blocks: tuple[str, ...]):
    return ablate(_model, [_picture], list(blocks), "off")


def decode(data: bytes, name: str):
    """Bytes -> (RGB picture, None) or (None, one-line error), decoded once per picture."""
    return _decode(picture_hash(data), data, name)


@st.cache_resource(max_entries=64, show_spinner=False)
def _decode(digest: str, _data: bytes, name: str):
    try:
        return load_image(_data), None
    except SenetVizError as exc:
        return None, f"{name}: {exc}".replace("picture: ", "")


@st.cache_resource(show_spinner="Opening the CIFAR-10 test split…")
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

    group = st.selectbox("Class", gallery.groups(), key=group_key, on_change=picked,
                         format_func=lambda g: "photos (scikit-image)" if g == gallery.PHOTOS_GROUP else f"{g} (CIFAR-10 test pictures)")
    options = gallery.in_group(group)
    st.session_state.setdefault(pick_key(group), wanted if wanted in options else options[0])
    return st.radio("Picture", options, horizontal=True, key=pick_key(group), on_change=picked,
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
        st.info(f"This link was made with a picture from the {wanted}; pictures that were uploaded or taken are not "
                "part of links, so the gallery's cat is shown instead.", icon=":material/link_off:")
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


def block_picker(model: LoadedModel, label: str = "SE block", default: str | None = None, key: str = "block") -> str:
    names = [b.name for b in model.blocks]
    wanted = st.query_params.get("block", default or names[-1])
    if st.session_state.get(key) not in names:
        st.session_state[key] = wanted if wanted in names else names[-1]
    name = st.selectbox(label, names, key=key)
    sync_query_param("block", name)
    return name


def need_se_blocks(model: LoadedModel) -> bool:
    if not model.blocks:
        st.info(f"{model.name} has no SE blocks: it is here as the no-SE reference of the Architecture & cost page.")
        return False
    return True


_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:&])")


#: Where GitHub's Markdown makes a link of bare text (http://, www., a@b), which escaping does not stop.
_AUTOLINK = re.compile(r"(?i)(https?|ftp|www|mailto|xmpp)(?=\\?[:.])|(?=@)")
WORD_JOINER = "\u2060"  # invisible, and not part of a link or an address


def plain(text: str) -> str:
    """User text (file, folder and class names) made inert for Streamlit's markdown: every
    markdown, directive (:...:), LaTeX ($) and HTML character is escaped, and an invisible word
    joiner breaks the bare links and addresses Markdown would otherwise make clickable."""
    escaped = _MARKDOWN.sub(r"\\\1", str(text)).replace("\n", " ")
    return _AUTOLINK.sub(lambda m: (m.group(1) or "") + WORD_JOINER, escaped)


def error(text: str) -> None:
    st.error(plain(text))


def paper_note(text: str) -> None:
    st.caption(f":material/menu_book: **Paper:** {text}")


def training_history(card: dict | None, twin: dict | None, *, loss: bool = True) -> None:
    """How SE came alive over training (the card's SE health epoch by epoch) and, with ``loss``, the
    training loss beside the twin's; for weights without a history, one line saying why."""
    h, why = history.history(card)
    if h is None:
        st.caption(f"No training history to show: {why}.")
        return
    if loss:
        t, why_twin = history.history(twin)
        if t is None:
            st.caption(f"No training curve of a twin without SE: {why_twin}.")
        else:
            draw(plots.training_loss(history.loss_table(h, t)))
            st.caption(plain(history.loss_summary(h, t)))
    if h.health:
        draw(plots.training_health(history.health_table(h)))
        st.caption(plain(history.health_summary(h)) + " Probe: the card's fixed training pictures, after every epoch.")


def film_view(model: LoadedModel, prefix: str = "film") -> None:
    """The training film of the loaded weights: the excitation figure of a chosen block and classes,
    played over the epochs (slider and play button in the chart), each stage's class-specificity over
    the epochs, one sentence computed from the film, and the exports; one line where there is none."""
    art = shipped(model)["film"]
    if art.value is None:
        st.caption(f"No training film for these weights: {plain(art.reason)}.")
        return
    film = art.value
    key = (model.weights_sha256,)
    c1, c2, c3 = st.columns([1, 2, 2])
    block = c1.selectbox("Block", film.blocks, index=len(film.blocks) - 1, key=f"{prefix}_block")
    classes = c2.multiselect("Classes", film.class_names, default=film.class_names[:4], max_selections=10,
                             key=f"{prefix}_classes") or film.class_names[:4]
    epoch = c3.select_slider("Start at epoch", film.epochs, value=film.epochs[-1], key=f"{prefix}_epoch",
                             format_func=lambda e: plots.frame_label(film, e).removeprefix("epoch "))
    left, right = st.columns(2)
    with left:
        draw(shared("film-figure", (*key, block, tuple(classes), epoch),
                    lambda: plots.film_figure(film, block, classes, epoch)), key=f"{prefix}_figure")
        st.caption(f"Class-mean s per channel of {block} (dashed: all classes) at each epoch; ▶ plays the epochs, the "
                   "slider under the chart moves through them.")
    with right:
        draw(shared("film-specificity", (*key, epoch), lambda: plots.specificity_figure(film, epoch)),
             key=f"{prefix}_specificity")
        st.caption(plain(shared("film-sentence", key, lambda: film_sentence(film))))
    st.caption(plain(provenance(film)))
    d1, d2, d3 = st.columns(3)
    fmt = d1.selectbox("Export the frame as", ["png", "svg"], key=f"{prefix}_fmt")
    d2.download_button(f"Epoch {epoch} figure ({fmt.upper()})", file_name=f"film-{block}-epoch{epoch}.{fmt}",
                       on_click="ignore", key=f"{prefix}_download_figure",
                       data=lambda: plots.excitation_static(film.stats(epoch), [block], classes, subset="all", fmt=fmt))
    d3.download_button("The film's numbers (CSV)", file_name="film.csv", mime="text/csv", on_click="ignore",
                       key=f"{prefix}_download_csv", data=lambda: film_csv(film))


def model_spec(model: LoadedModel) -> str | None:
    """The loaded model as a room carries it (``name|default`` or ``name|random``); None for weights
    from a file, which stay on this server's disk under this session's upload."""
    if model.random_weights:
        return f"{model.name}|random"
    if model.weights.startswith(("shipped", "pretrained", "as built")):
        return f"{model.name}|default"
    return None


def adopt_model(spec: str) -> None:
    """Run the model ``spec`` names in this session from the next run on (a room's follower)."""
    name, _, weights = spec.rpartition("|")
    st.session_state.adopt_model = (name, weights)
    st.rerun()


def stats_key(stats: ExcitationStats) -> tuple:
    """What a result computed from ``stats`` depends on, for ``shared``: its source and weights."""
    meta = stats.meta
    return (meta.get("source_sha256"), meta.get("weights_sha256"), stats.total, meta.get("seconds"))
