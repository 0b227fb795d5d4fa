"""The session's model: the sidebar's picker, the process's model cache under its budget, class names a
browser gives, and a room's model adopted by a follower."""

from __future__ import annotations

import gc
import hashlib
from pathlib import Path

import streamlit as st
import torch

from senet_viz import artefacts, machine
from senet_viz.errors import ClassNamesError, SenetVizError, UnknownModel
from senet_viz.i18n import _
from senet_viz.models import DEFAULT_MODEL, RANDOM, LoadedModel, list_models, load_model, weights_available
from senet_viz.models.blocks import zero_initialised_norms
from senet_viz.models.budget import MAX_PARAMS
from senet_viz.models.cache import ModelCache
from senet_viz.models.classes import names_from_text
from senet_viz.models.code import code_models_allowed, is_code_name, refuse_code_unless_allowed
from senet_viz.models.project import PROJECT_MODELS
from ui import internals
from ui.base import error, plain, sync_query_param
from ui.trust import _verify_password, lecturer_password, trusted


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
        with st.spinner(_("Loading the model…")):
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


def model_choices() -> list[str]:
    return [e.name for e in list_models()]


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
        st.markdown("### " + _("Model"))
        choice = st.selectbox(_("Network"), [*choices, "other…"], key="model_choice",
                              format_func=lambda c: _("other…") if c == "other…" else c,
                              help=_("Any timm or torchvision network with SE blocks; ImageNet weights need one download."))
        name = choice
        if choice == "other…":
            label = (_("timm or torchvision name, or package.module:function") if code_models_allowed()
                     else _("timm or torchvision name"))
            name = st.text_input(label, key="model_other", placeholder=_("e.g. seresnet101"),
                                 help=_("package.module:function: a network your code builds (allowed on this server)")
                                 if code_models_allowed() else None).strip() or DEFAULT_MODEL
            if is_code_name(name) and code_models_allowed() and not trusted() and lecturer_password():
                st.text_input(_("Lecturer password"), type="password", key="code_password", on_change=_verify_password,
                              args=("code_password",), help=_("Networks from code run only for a browser on this "
                                                              "server's own machine or a session that typed the lecturer "
                                                              "password."))
        st.radio(_("Weights"), ["default", "random", "file"], key="weights_choice", horizontal=True,
                 format_func={"default": _("default"), "random": _("random"), "file": _("file")}.get,
                 help=_("default: the shipped or pretrained weights; random: random initialisation (degenerate "
                        "pictures); file: a .safetensors, .pth or .pt file of your own (never executed)."))
        if st.session_state.weights_choice == "file":
            up = st.file_uploader(_("Weights file"), type=["safetensors", "pth", "pt"], key="weights_file")
            st.session_state.weights_path = store_weights(up.getvalue(), up.name) if up is not None else None
            st.text_input(_("Class names"), key="class_names_text", placeholder=_("a, b, c (default: the file's own)"),
                          help=_("Comma-separated, in the order of the classifier's outputs. Left empty: the names in "
                                 "the file's safetensors metadata (class_names), else class 0, class 1, ..."))
            st.file_uploader(_("or a class names file"), type=["txt", "json"], key="class_names_file",
                             help=_("One name a line (.txt), or a JSON list (.json); it replaces the typed names."))
        st.session_state.model_name = name
        try:
            if name in choices and st.session_state.weights_choice == "default" and not weights_available(name):
                if name in PROJECT_MODELS:
                    st.caption(":material/model_training: " + _("This project model is not trained yet: no weights are "
                                                                 "shipped."))
                else:
                    st.caption(":material/cloud_download: " + _("The default weights of this model need a download "
                                                                 "(internet)."))
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
            raise UnknownModel(st.session_state.pop("password_refusal", None) or _(
                "{name}: networks built by code run only for a browser on this server's own machine or a session that "
                "typed the lecturer password", name=name))
        classes = class_names_given() if choice == "file" else None
        model = cached_model(name, weights, classes)
    except SenetVizError as exc:
        # the fallback keeps the weights kind the radio shows where it can (random stays random)
        fallback = RANDOM if weights == RANDOM or not weights_available(DEFAULT_MODEL) else None
        if (name, weights) == (DEFAULT_MODEL, fallback):
            raise
        if fallback == RANDOM:
            error(_("{error}. Showing {model} with random weights instead.", error=exc, model=DEFAULT_MODEL))
        else:
            error(_("{error}. Showing {model} with its shipped weights instead.", error=exc, model=DEFAULT_MODEL))
        model = cached_model(DEFAULT_MODEL, fallback)
    if model.random_weights:
        zeroed = zero_initialised_norms(model.net)
        note = (" " + _("{n} of its BatchNorm layers start at zero (timm's zero-initialised last BatchNorm of each "
                        "residual branch), so U = 0 in the SE blocks that follow them.", n=zeroed) if zeroed else "")
        st.warning(_("{model} has random weights: its predictions and excitations are meaningless.", model=model.name)
                   + note, icon=":material/casino:")
    with st.sidebar:
        device = torch.cuda.get_device_name(model.device) if model.device.type == "cuda" else "CPU"
        st.caption(_("Running: **{model}** · weights: {weights} · {n} SE blocks · {device}", model=plain(model.name),
                     weights=plain(weights_label(model)), n=len(model.blocks), device=device))
    return model


#: A class names file larger than this is refused before it is read as text.
MAX_NAMES_FILE = 2_000_000


def class_names_given() -> tuple[str, ...] | None:
    """The class names this browser gave for its weights file: an uploaded .txt/.json file, else the
    typed list; never a path on this server (a path typed here is one name like any other)."""
    upload = st.session_state.get("class_names_file")
    if upload is not None:
        if upload.size > MAX_NAMES_FILE:
            raise ClassNamesError(_("{name}: a class names file is at most {mb} MB", name=upload.name,
                                    mb=MAX_NAMES_FILE // 1_000_000))
        try:
            text = upload.getvalue().decode("utf-8")
        except UnicodeDecodeError:
            raise ClassNamesError(_("{name}: not a UTF-8 text file", name=upload.name)) from None
        return tuple(names_from_text(text, upload.name))
    typed = (st.session_state.get("class_names_text") or "").strip()
    return tuple(names_from_text(typed, _("class names typed"))) if typed else None


def weights_label(model: LoadedModel) -> str:
    if model.random_weights:
        return _("random")
    if model.weights.startswith("shipped ("):
        return _("shipped ({file})", file=model.weights.removeprefix("shipped (").removesuffix(")"))
    if model.weights.startswith(("shipped", "pretrained")):
        return model.weights
    return Path(model.weights).name  # an uploaded file, by the name it was uploaded with (never its server path)


def model_key(model: LoadedModel) -> tuple[str, str]:
    """What a cached result made with this model depends on: the network, its weights and the class
    names it was loaded with (one weights file may be loaded with other names by another session)."""
    names = hashlib.sha256("\n".join(model.class_names).encode()).hexdigest()[:12]
    return (model.name, f"{model.weights}#{names}")


def need_se_blocks(model: LoadedModel) -> bool:
    if not model.blocks:
        st.info(_("{model} has no SE blocks: it is here as the no-SE reference of the Architecture & cost page.",
                  model=model.name))
        return False
    return True


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
    name, _bar, weights = spec.rpartition("|")
    st.session_state.adopt_model = (name, weights)
    st.rerun()
