"""Compare: two pictures side by side, a picture against a class, or SE against its twin without SE."""

from __future__ import annotations

import streamlit as st

from senet_viz import artefacts, compare, gallery, narrative, plots
from senet_viz.data import CIFAR10_CLASSES
from senet_viz.errors import SenetVizError
from senet_viz.i18n import _
from senet_viz.images import model_view
from ui import common

MODES = {"pictures": _("Two pictures"), "class": _("A picture against a class"), "twin": _("SE against its twin without SE")}
SOURCES = {"gallery": _("Gallery"), "test": _("CIFAR-10 test picture"), "upload": _("Upload"), "camera": _("Camera")}
DEFAULTS = {"a": "gallery:cat", "b": "gallery:cifar-ship-0"}

st.title(_("Compare"))
model = common.active_model()
if not common.need_se_blocks(model):
    st.stop()
cifar_model = model.class_names == list(CIFAR10_CLASSES)

if "cmp_mode" not in st.session_state:  # the link names the mode and the pictures
    wanted = st.query_params.get("mode", "pictures")
    st.session_state.cmp_mode = wanted if wanted in MODES else "pictures"
mode = st.radio(_("Compare"), list(MODES), format_func=MODES.get, horizontal=True, key="cmp_mode")
st.query_params["mode"] = mode


def _parse(spec: str) -> tuple[str, str, int]:
    """'gallery:<key>' or 'test:<class>:<k>' -> (source, key or class, k)."""
    kind, _colon, rest = spec.partition(":")
    if kind == "test":
        cls, _colon, k = rest.partition(":")
        return "test", cls, int(k) if k.isdigit() else 0
    return ("gallery", rest, 0) if kind == "gallery" else (kind, "", 0)


def picture_picker(slot: str) -> tuple[str, bytes] | None:
    """One picture for slot 'a' or 'b': (name, bytes), kept in the link when it has a name there."""
    key = f"cmp_{slot}"
    if f"{key}_source" not in st.session_state:
        source, item, k = _parse(st.query_params.get(slot, DEFAULTS[slot]))
        if source in ("upload", "camera"):
            st.info(_("Picture {slot} of this link came from the {source}; such pictures are not part of links.",
                      slot=slot.upper(), source=SOURCES[source]))
            source, item, k = _parse(DEFAULTS[slot])
        st.session_state[f"{key}_source"] = source if source in SOURCES else "gallery"
        st.session_state[f"{key}_gallery"] = gallery.resolve(item) or gallery.resolve(_parse(DEFAULTS[slot])[1])
        st.session_state[f"{key}_class"] = item if item in CIFAR10_CLASSES else "cat"
        st.session_state[f"{key}_k"] = k
    sources = [s for s in SOURCES if s != "test" or common.test_split() is not None]
    source = st.selectbox(_("Source"), sources, format_func=SOURCES.get, key=f"{key}_source")
    if source == "gallery":
        item = common.gallery_picker(f"{key}_gallery", st.session_state[f"{key}_gallery"], cifar_model)
        common.sync_query_param(slot, f"gallery:{item}")
        return f"gallery: {item}", common.gallery_bytes(item)
    if source == "test":
        split = common.test_split()
        cls = st.selectbox(_("Class"), split.class_names, key=f"{key}_class")
        k = int(st.number_input(_("Picture number in that class"), 0, 999, key=f"{key}_k"))
        index = common.test_picture_index(cls, k)
        if index is None:
            st.info(_("No such test picture."))
            return None
        common.sync_query_param(slot, f"test:{cls}:{k}")
        return f"test {cls} #{k}", common.image_bytes(split[index][0])
    common.sync_query_param(slot, source)
    if source == "upload":
        up = st.file_uploader(_("Picture"), type=["jpg", "jpeg", "png", "gif", "bmp", "tif", "tiff", "webp"], key=f"{key}_upload")
        return (up.name, up.getvalue()) if up is not None else None
    shot = st.camera_input(_("Take a picture"), key=f"{key}_camera")
    return ("camera", shot.getvalue()) if shot is not None else None


def show(column, name: str, data: bytes):
    """Original, model's-eye view and top 5 of one picture in ``column``; returns (picture, capture)."""
    with column:
        picture, cap = common.capture_picture(model, name, data)
        if cap is None:
            return None, None
        a, b = st.columns(2)
        a.image(picture, caption=common.plain(name), width="stretch", alt=_("Picture: {name}", name=name))
        b.image(model_view(model.preprocess, picture), caption=_("what the model sees"), width="stretch",
                alt=_("{name} as the model sees it, {h} by {w} pixels", name=name, h=model.input_size[1],
                      w=model.input_size[2]))
        common.top_table(cap.top(5)[0])
        return picture, cap


def one_picture():
    """A narrow column with one picture's picker beside a wide one; stops the page until there is a picture."""
    left, right = st.columns([1, 2])
    with left:
        st.subheader(_("Picture"))
        pic = picture_picker("a")
    if pic is None:
        st.stop()
    return left, right, pic


if cifar_model:
    st.caption(_("{model} knows only the 10 CIFAR-10 classes: photos of anything else still get one of them.",
                 model=model.name))

if mode == "pictures":
    left, right = st.columns(2)
    with left:
        st.subheader(_("Picture A"))
        pic_a = picture_picker("a")
    with right:
        st.subheader(_("Picture B"))
        pic_b = picture_picker("b")
    if pic_a is None or pic_b is None:
        st.info(_("Choose both pictures to compare them."))
        st.stop()
    cap_a = show(left, *pic_a)[1]
    cap_b = show(right, *pic_b)[1]
    if cap_a is None or cap_b is None:
        st.stop()
    div = compare.divergence(cap_a, cap_b)
    parting = compare.parting_block(div)
    pred_a, pred_b = cap_a.top(1)[0][0], cap_b.top(1)[0][0]
    title = (f"{pic_a[0]} ({pred_a[0]} {pred_a[1]:.0%}) vs {pic_b[0]} ({pred_b[0]} {pred_b[1]:.0%}), {model.name}")
    st.subheader(_("Where their excitations part ways"))
    common.draw(plots.divergence_chart([d.name for d in div], [d.cosine_distance for d in div],
                                       [d.mean_abs for d in div], title))
    st.caption(_("Per SE block, from the input side to the output: the mean over channels of |s_a − s_b| (bars) and 1 − "
                 "cosine similarity of the two excitation vectors (line). Furthest apart: {block} (mean |s_a − s_b| = "
                 "{gap:.3f}).", block=parting.name, gap=parting.mean_abs))
    block = common.block_picker(model, _("Block for the channel view"), default=parting.name, key="cmp_block")
    sa, sb = cap_a.excitation[block][0], cap_b.excitation[block][0]
    marked = compare.most_different(sa, sb, 5)
    common.draw(plots.pair_lines(sa, sb, ("A: " + pic_a[0], "B: " + pic_b[0]), marked, _("s in {block}", block=block)))
    st.caption(_("The five channels where the two pictures' s differ most are marked: {channels}.",
                 channels=", ".join(map(str, marked))))
    fmt = st.selectbox(_("Export the comparison as"), ["png", "svg"], key="cmp_fmt")
    d1, d2 = st.columns(2)
    d1.download_button(_("Figure ({format})", format=fmt.upper()), on_click="ignore", file_name=f"comparison.{fmt}",
                       data=common.spoken(lambda: plots.comparison_static(
                           [d.name for d in div], [d.mean_abs for d in div], sa, sb, block, ("A: " + pic_a[0], "B: " + pic_b[0]),
                           marked, title, fmt)))
    d2.download_button(_("z and s of both pictures (CSV)"), lambda: compare.pair_csv(cap_a, cap_b, ("A: " + pic_a[0], "B: " + pic_b[0])),
                       file_name="comparison.csv", mime="text/csv", on_click="ignore")

elif mode == "class":
    stats = common.matching_stats(model)
    left, right, pic = one_picture()
    cap = show(left, *pic)[1]
    if cap is None:
        st.stop()
    with right:
        if stats is None:
            st.info(_("No statistics of these weights: compute them on the Class patterns page, then compare here."))
            st.stop()
        predicted = model.class_names[int(cap.predicted()[0])]
        classes = stats.class_names
        if st.session_state.get("cmp_class") not in classes:
            wanted = st.query_params.get("cls", predicted)
            st.session_state.cmp_class = wanted if wanted in classes else classes[0]
        cls = st.selectbox(_("Class"), classes, key="cmp_class")
        common.sync_query_param("cls", cls)
        k = classes.index(cls)
        dist, within = compare.against_class({b: cap.excitation[b][0] for b in stats.blocks}, stats, k)
        common.draw(plots.divergence_chart(stats.blocks, within, dist,
                                           _("{picture} against the class '{cls}'", picture=pic[0], cls=cls),
                                           bar_name=_("mean |s − class mean|"), line_name=_("within-class std")))
        st.caption(_("Bars: mean |s − class mean| per block; line (right axis): the class's own mean within-class std, "
                     "the spread a typical picture of the class shows."))
    block = common.block_picker(model, _("Block"), key="cmp_block")
    common.draw(plots.band_bars(cap.excitation[block][0], stats.excitation_mean(block)[k], stats.excitation_std(block)[k],
                                _("s of {picture} against '{cls}' in {block}", picture=pic[0], cls=cls, block=block),
                                name=pic[0]))
    st.caption(_("Bars: this picture's s; line and band: the mean and ±1 within-class std of the {n:,} pictures of "
                 "'{cls}' in these statistics.", n=int(stats.count[k]), cls=common.plain(cls)))

else:
    twin_name = artefacts.twin_name(model.name)
    art = common.shipped(model)
    if twin_name is None or art["card"] is None or art["twin"] is None:
        st.info(_("SE against its twin needs a project model with SE running its shipped weights, and its shipped twin "
                  "without SE (se_resnet20_cifar10 and resnet20_cifar10)."), icon=":material/compare:")
        st.stop()
    try:
        twin = common.cached_model(twin_name, None)
    except SenetVizError as exc:
        common.error(str(exc))
        st.stop()
    left, right, pic = one_picture()
    picture, problem = common.decode(pic[1], pic[0])
    if problem:
        common.error(problem)
        st.stop()
    result = compare.through_twin(model, twin, picture)
    with left:
        st.image(picture, caption=common.plain(pic[0]), width="stretch", alt=_("Picture: {name}", name=pic[0]))
    with right:
        a, b = st.columns(2)
        for column, title, probs in ((a, model.name, result.probs), (b, twin.name, result.twin_probs)):
            column.markdown(f"**{title}**")
            common.top_table(compare.top(probs, model.class_names), where=column)
    card, twin_card = art["card"], art["twin"]
    with right:
        st.caption(_("Both networks receive the same preprocessed {h}×{w} input; the twin has the same layers without the "
                     "SE blocks ({training}, from the two model cards).", h=model.input_size[1], w=model.input_size[2],
                     training=narrative.same_training(card, twin_card)))
    st.subheader(_("Per-class test accuracy"))
    per = card["test"]["per_class"]
    st.dataframe({_("class"): list(per), model.name: [f"{v:.1%}" for v in per.values()],
                  twin.name: [f"{twin_card['test']['per_class'][c]:.1%}" for c in per],
                  _("difference (points)"): [f"{100 * (v - twin_card['test']['per_class'][c]):+.1f}" for c, v in per.items()]},
                 hide_index=True)
    per_class_n, half_width = compare.per_class_half_width(per, card["test"]["n"])
    st.caption(_("From the two model cards: {n:,} test pictures each, {per_class:,} per class, so a class's accuracy has a "
                 "95% interval of at most ±{half:.1f} points here.", n=card["test"]["n"], per_class=per_class_n,
                 half=half_width))
    st.markdown(narrative.gain_sentence(card, twin_card))
