"""Class patterns: the paper's excitation figure, specificity and saturation by depth, class similarity."""

from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st

from senet_viz import artefacts, narrative, plots
from senet_viz.collect import compute_stats
from senet_viz.data import (
    CIFAR10_CLASSES,
    archive_bytes,
    cifar10_test_source,
    data_roots,
    folders_below,
    held_pictures_refusal,
    in_memory,
    open_source,
    server_folder,
)
from senet_viz.errors import SenetVizError
from senet_viz.health import LIVE_SHARE, LIVE_STD
from senet_viz.i18n import _
from senet_viz.stats import ExcitationStats
from ui import common

st.title(_("Class patterns"))
model = common.active_model()
if not common.need_se_blocks(model):
    st.stop()


def _progress_stats(source, label: str) -> ExcitationStats:
    bar = st.progress(0.0, text=_("Computing statistics over {n} pictures…", n=len(source)))
    try:
        # workers=0: no loader processes forked from the server, which runs a thread per session
        return compute_stats(model, source, batch_size=32, workers=0,
                             on_batch=lambda done, total: bar.progress(done / total, text=_("{done} of {total} pictures",
                                                                                             done=done, total=total)))
    finally:  # also when a picture is refused: its error line stands alone
        bar.empty()


@st.cache_data(max_entries=4, show_spinner=False)
def stats_from_archive(_model, key, digest: str, data: bytes, name: str) -> ExcitationStats:
    with tempfile.TemporaryDirectory(prefix="senet-upload-") as tmp:
        return _progress_stats(archive_bytes(data, name, Path(tmp)), name)


@st.cache_data(max_entries=4, show_spinner=False)
def stats_from_pictures(_model, key, digest: str, items: tuple[tuple[str, bytes], ...]) -> ExcitationStats:
    return _progress_stats(in_memory(list(items)), "uploaded pictures")


@st.cache_data(max_entries=4, show_spinner=False)
def stats_from_folder(_model, key, folder: str) -> ExcitationStats:
    return _progress_stats(server_folder(folder), folder)


@st.cache_data(max_entries=4, show_spinner=False)
def stats_of_test_split(_model, key, digest: str | None) -> ExcitationStats:
    return _progress_stats(open_source(cifar10_test_source()), "CIFAR-10 test split")


shipped = common.shipped(model)["stats"]
cifar_model = model.class_names == list(CIFAR10_CLASSES) and not model.random_weights
roots = data_roots()
SOURCES = {"shipped": _("Shipped statistics (CIFAR-10 test split)"), "test": _("CIFAR-10 test split, computed here"),
           "zip": _("A .zip of class folders"), "batches": _("Pictures, a class per batch"),
           "folder": _("A folder on the server")}
options = (["shipped"] if shipped.value is not None else [])
if shipped.value is None and cifar_model:
    options.append("test")
options += ["zip", "batches"]
if roots:
    options.append("folder")
if shipped.value is None and artefacts.stats_file(model.name).is_file():
    st.info(_("Shipped statistics not shown: {why}. Statistics of these weights can be computed here.",
              why=shipped.reason), icon=":material/fingerprint:")
if st.session_state.get("stats_source") not in options:
    st.session_state.pop("stats_source", None)
source_choice = st.radio(_("Statistics from"), options, horizontal=True, key="stats_source", format_func=SOURCES.get)
stats: ExcitationStats | None = None
if source_choice == "shipped":
    stats = shipped.value
    st.caption(_("{n:,} pictures, {classes} classes, made with weights {digest}… (the loaded ones). Made by: `{command}`",
                 n=stats.total, classes=len(stats.class_names), digest=stats.meta.get("weights_sha256", "")[:12],
                 command=stats.meta.get("command", "python -m senet_viz stats")))
elif source_choice == "test":
    st.caption(_("Statistics of the loaded weights ({weights}) on the 10,000 test pictures: about 30 s on a 2-core CPU, "
                 "once per weights file.", weights=common.plain(common.weights_label(model))))
    if st.button(_("Compute"), key="compute_test_stats") or st.session_state.get("test_stats_for") == common.model_key(model):
        try:
            stats = stats_of_test_split(model, common.model_key(model), model.weights_sha256)
            st.session_state.test_stats_for = common.model_key(model)
        except SenetVizError as exc:
            common.error(str(exc))
elif source_choice == "zip":
    up = st.file_uploader(_("A .zip of <class>/<picture> folders"), type=["zip"], key="stats_zip")
    if up is not None:
        data = up.getvalue()
        try:
            stats = stats_from_archive(model, common.model_key(model), common.picture_hash(data), data, up.name)
        except SenetVizError as exc:
            common.error(str(exc))
elif source_choice == "folder":
    folder = st.selectbox(_("Folder of <class>/<picture> folders on this server"), folders_below(roots),
                          key="server_folder", index=None, placeholder=_("the folders this server allows"))
    if folder:
        try:
            stats = stats_from_folder(model, common.model_key(model), folder.strip())
        except SenetVizError as exc:
            common.error(str(exc))
else:
    items = st.session_state.setdefault("labelled", [])
    # A new uploader after every added batch: its files are taken once, under one class.
    batch_no = st.session_state.setdefault("batch_no", 0)
    c1, c2 = st.columns([1, 2])
    label = c1.text_input(_("Class of this batch"), key="batch_class", max_chars=60)
    files = c2.file_uploader(_("Pictures of that class"), accept_multiple_files=True, key=f"batch_files_{batch_no}",
                             type=["jpg", "jpeg", "png", "gif", "bmp", "tif", "tiff", "webp"])
    if st.button(_("Add batch"), disabled=not (label.strip() and files)):
        adding = [f.getvalue() for f in files]
        refused = held_pictures_refusal(items, adding)
        st.session_state.batch_no = batch_no + 1  # a new uploader from the next run: this one's files are let go
        if refused:
            common.error(refused)
        else:
            items.extend((label.strip(), data) for data in adding)
            st.rerun()
    counts = {}
    for c, _data in items:
        counts[c] = counts.get(c, 0) + 1
    st.text(", ".join(f"{c}: {n}" for c, n in sorted(counts.items())) or _("No pictures yet."))
    if items and st.button(_("Clear")):
        items.clear()
        st.rerun()
    if items:
        key = common.picture_hash(b"".join(c.encode() + b for c, b in items))
        try:
            stats = stats_from_pictures(model, common.model_key(model), key, tuple(items))
        except SenetVizError as exc:
            common.error(str(exc))

def film_section() -> None:
    st.subheader(_("Watch SE learn: the training film"))
    common.film_view(model)
    common.paper_note(_("shows the finished network only; the film shows how its pattern came about during training."))


if stats is None:
    st.info(_("Choose or upload labelled pictures to see the class patterns."))
    film_section()
    st.stop()
if stats.blocks != [b.name for b in model.blocks]:
    st.error(_("These statistics belong to another model."))
    st.stop()
if source_choice != "shipped":
    st.session_state.computed_stats = stats  # for Inspect and Ablation, while the weights stay the same
health = {h.name: h for h in stats.health()}

names = stats.class_names
default_classes = [c for c in st.query_params.get_all("cls") if c in names] or names[: min(4, len(names))]
c1, c2 = st.columns(2)
blocks = c1.multiselect(_("Blocks"), stats.blocks, default=plots.default_blocks(stats.blocks), key="pattern_blocks")
classes = c2.multiselect(_("Classes"), names, default=default_classes, key="pattern_classes", max_selections=10)
st.query_params["cls"] = classes
c3, c4 = st.columns(2)
subset = c3.radio(_("Channels"), ["all", "first", "sample"], horizontal=True, key="subset",
                  format_func={"all": _("all"), "first": _("the first N"), "sample": _("N sampled evenly")}.get)
n = c4.slider("N", 5, 200, 50, key="subset_n", disabled=subset == "all")

st.subheader(_("Excitation by class and block"))
common.draw(plots.excitation_figure(stats, blocks or None, classes, subset=subset, n=n))
st.caption(_("Each line is the mean excitation s_c of one class's pictures per channel; the dashed line is the mean over "
             "all classes. Look for where the class lines separate from each other."))
shown_flat = [b for b in (blocks or plots.default_blocks(stats.blocks)) if b in health and health[b].state == "constant"]
if shown_flat:
    st.warning(_("{blocks}: constant for all pictures: a fixed channel scale. Their flat lines say nothing about classes.",
                 blocks=", ".join(shown_flat)), icon=":material/horizontal_rule:")
sentence = narrative.pattern_sentence(stats)
if sentence:
    st.markdown(common.plain(sentence))
common.paper_note(_("for SE-ResNet-50 on ImageNet (Fig. 6, goldfish, pug, plane, cliff), the classes are nearly the same "
                    "at SE_2_3, become class-specific at SE_4_6 and SE_5_1, SE_5_2 is saturated (most values near 1) and "
                    "SE_5_3 is similar across classes up to scale."))
fmt = st.selectbox(_("Export the figure as"), ["png", "svg", "pdf"], key="export_fmt")
st.download_button(_("Paper-style figure ({format})", format=fmt.upper()), file_name=f"excitation.{fmt}", on_click="ignore",
                   data=common.spoken(lambda: plots.excitation_static(stats, blocks or None, classes, subset=subset, n=n,
                                                                      fmt=fmt)))

st.subheader(_("Variation within one class"))
band_block = st.selectbox(_("Block"), stats.blocks, index=len(stats.blocks) - 1, key="band_block")
band_class = st.selectbox(_("Class"), names, key="band_class")
common.draw(plots.class_band(stats, band_block, band_class, subset=subset, n=n))
st.caption(_("The mean s of the pictures of '{cls}' per channel of {block}, and the band of one standard deviation "
             "around it.", cls=common.plain(band_class), block=band_block))
common.paper_note(_("the spread between pictures of one class grows with depth (the companion figure for goldfish and "
                    "plane)."))

st.subheader(_("SE health: does each block respond to the picture?"))
if health:
    rows = stats.summary()
    st.dataframe({
        _("block"): [r["block"] for r in rows],
        _("std of s across pictures"): [round(r["s_std"], 4) for r in rows],
        _("std between class means"): [round(r["between_std"], 4) for r in rows],
        _("std within a class"): [round(r["within_std"], 4) for r in rows],
        _("live hidden units"): [_("{live} of {hidden}", live=health[r["block"]].live, hidden=health[r["block"]].hidden)
                                 for r in rows],
        _("verdict"): [health[r["block"]].describe() for r in rows],
    }, hide_index=True, width="stretch")
    st.markdown(narrative.health_sentence(list(health.values())))
    st.caption(_("Spreads in units of s, averaged over channels, over {n:,} pictures. A hidden unit of Eq. 3 is live when "
                 "δ(W1 z + b1) > 0 on at least {share:.0%} of the pictures and varies across them (std ≥ {std:g}). A block "
                 "whose hidden units are all dead feeds its gate a constant, so s is the same for every picture: a fixed "
                 "channel scale, not attention.", n=stats.total, share=LIVE_SHARE, std=LIVE_STD))
else:
    st.caption(_("These statistics were made before hidden units were counted; recompute them to see the live units."))

with st.expander(_("How each block's s came alive over training")):
    common.training_history(common.shipped(model)["card"], None, loss=False)

film_section()

st.subheader(_("Class-specificity and saturation by depth"))
common.draw(plots.depth_profile(stats))
st.caption(_("Class-specificity: variance between the class means over the mean variance within classes (0: all classes "
             "alike; its floor from sampling is about 1 / pictures per class). Saturation: share of s above 0.9 and below "
             "0.1. Bottom: the spreads themselves, in units of s; where both are near 0, s hardly depends on the picture "
             "and the block acts as a fixed channel weighting, whatever the ratio above says."))
common.paper_note(_("shared early, class-specific late, saturated near the end; hence the last stage's SE matters least."))

left, right = st.columns(2)
with left:
    st.subheader(_("Class similarity"))
    sim_block = st.selectbox(_("Block"), stats.blocks, index=len(stats.blocks) - 1, key="sim_block")
    common.draw(plots.similarity_heatmap(stats, sim_block))
    st.caption(_("Correlation between class-mean excitation vectors: red, the classes are excited alike; blue, "
                 "differently."))
with right:
    st.subheader(_("Distribution of s"))
    dist_block = st.selectbox(_("Block"), stats.blocks, index=len(stats.blocks) - 1, key="dist_block")
    common.draw(plots.distribution(stats, dist_block, classes))
    st.caption(_("Share of activations per value of s over all pictures and channels of each class."))
