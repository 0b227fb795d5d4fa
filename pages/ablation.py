"""Ablation: switch SE off or replace s in chosen blocks; the effect on a picture and on test accuracy."""

from __future__ import annotations

import streamlit as st

from senet_viz import narrative, plots
from senet_viz.ablation import MODES, ablate
from senet_viz.i18n import _
from ui import common

st.title(_("Ablation"))
model = common.active_model()
if not common.need_se_blocks(model):
    st.stop()
name, data = common.picture_or_default()
picture, base = common.capture_picture(model, name, data)
if base is None:
    st.stop()

names = [b.name for b in model.blocks]
last_stage = max(b.stage for b in model.blocks)
c1, c2 = st.columns([2, 1])
blocks = c1.multiselect(_("Blocks to change"), names, default=[b.name for b in model.blocks if b.stage == last_stage], key="abl_blocks")
mode = c2.selectbox(_("Replace s with"), MODES, key="abl_mode", format_func={
    "off": _("1 (SE off)"), "constant": _("a constant"), "class_mean": _("the class mean"),
    "shuffle": _("shuffled channels")}.get)
value = st.slider(_("Constant"), 0.0, 1.0, 0.5, key="abl_value") if mode == "constant" else 0.5
stats = common.matching_stats(model)
class_means = None
if mode == "class_mean":
    if stats is None:
        st.info(_("The class-mean replacement needs statistics of these weights: the shipped ones match only the shipped "
                  "weights; compute them on the Class patterns page."), icon=":material/query_stats:")
        st.stop()
    cls = st.selectbox(_("Class"), stats.class_names, key="abl_class")
    k = stats.class_names.index(cls)
    class_means = {b: stats.excitation_mean(b)[k] for b in stats.blocks}

changed = common.shared("ablation", (*common.model_key(model), common.picture_hash(data), tuple(blocks), mode, value,
                                      cls if class_means is not None else None),
                         lambda: ablate(model, [picture], blocks, mode, value=value, class_means=class_means))
left, right = st.columns([1, 2])
left.image(picture, caption=common.plain(name), width="stretch", alt=_("The picture: {name}", name=name))
with right:
    before, after = base.top(5)[0], changed.top(5)[0]
    st.markdown(_("**Before:** {before} ({p0:.1%}) → **after:** {after} ({p1:.1%})", before=common.plain(before[0][0]),
                  p0=before[0][1], after=common.plain(after[0][0]), p1=after[0][1]))
    top_names = list(dict.fromkeys([c for c, _p in before] + [c for c, _p in after]))[:8]
    idx = [model.class_names.index(c) for c in top_names]
    common.draw(plots.prediction_bars(top_names, base.probs[0, idx], changed.probs[0, idx]))
    st.caption(_("The probability of each of the classes above as trained and with s replaced in {blocks}.",
                 blocks=", ".join(blocks) or _("no block")))

st.subheader(_("Test accuracy with SE switched off, stage by stage"))
art = common.shipped(model)["ablation"]
res = art.value
if res is None:
    st.info(_("Not shown: {reason}. The project's ablate command computes them for any weights file (about two minutes "
              "on a CPU for the 10,000 test pictures).", reason=art.reason), icon=":material/science:")
else:
    common.draw(plots.ablation_bars(res["top1"]))
    st.markdown(narrative.ablation_sentence(res))
    st.caption(_("{n:,} test pictures, trained weights unchanged (the paper instead retrains without SE in that stage). "
                 "s := 1 removes the block and also the scale the network was trained with; s := the all-class mean "
                 "keeps the scale and removes only what depends on the picture, the part SE adds over a fixed channel "
                 "weighting. Made by `{command}`.", n=res["n"], command=res["command"]))
    common.paper_note(_("removing SE from the last stage of SE-ResNet-50 costs < 0.1% top-5 error (and the network is "
                        "retrained without it), because SE_5_2 is nearly saturated and SE_5_3 alike across classes."))
