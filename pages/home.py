"""Home: what an SE block does, the loaded model's card in sentences, and where to go next."""

from __future__ import annotations

import streamlit as st

from senet_viz import narrative, plots
from senet_viz.cost import bottleneck
from senet_viz.i18n import _
from senet_viz.models.project import architecture, training_summary
from ui import common, navigation

st.title("SENet Explorer")
st.markdown(_(
    "A **Squeeze-and-Excitation** block lets a network reweigh its own channels, picture by picture. "
    "It *squeezes* each feature map $u_c$ of $U$ to one number $z_c$ (global average pooling), "
    "*excites* a gate $s = \\sigma(W_2\\,\\delta(W_1 z))$ from all of them, and *scales* every channel: "
    "$\\tilde x_c = s_c\\,u_c$ (Hu et al., *Squeeze-and-Excitation Networks*, CVPR 2018 / TPAMI 2019)."
))
model = common.active_model()
first = model.blocks[0] if model.blocks else None
sizes = (first.channels, first.hidden) if first else (None, None)
common.draw(common.shared("se_block", sizes, lambda: plots.se_block_diagram(*sizes)))
if first:
    st.caption(_("Numbers of {model}'s first block, {block}: C = {c}, {bottleneck}.", model=model.name,
                 block=first.name, c=first.channels, bottleneck=bottleneck(model.blocks, first)))
col1, col2, col3 = st.columns(3)
col1.metric(_("Active model"), model.label)
col2.metric(_("SE blocks"), len(model.blocks))
device = "GPU" if model.device.type == "cuda" else "CPU"
col3.metric(_("Runs on"), device)
art = common.shipped(model)
card = art["card"]
if card and "test" in card:
    hidden = sorted(set((card.get("se_hidden") or {}).values()))
    width = (_(", r = {r} with {hidden} hidden units per SE block", r=card["reduction"],
               hidden="/".join(map(str, hidden))) if hidden else "")
    st.markdown(_("**{model}**: {architecture}{width}, trained by this project on CIFAR-10: {training}. Test accuracy "
                  "**{top1:.2%}** on {n:,} pictures of the JPEG test split.", model=model.name,
                  architecture=architecture(card), width=width, training=training_summary(card),
                  top1=card["test"]["top1"], n=card["test"]["n"]))
    averaging = narrative.averaging_sentence(card)
    if averaging:
        st.markdown(averaging)
    if art["twin"] is not None:
        st.markdown(narrative.gain_sentence(card, art["twin"]))
    stats = common.matching_stats(model)
    health = stats.health() if stats is not None else []
    if health:
        if "test" in str(stats.meta.get("source", "")):
            line = _("SE health on {n:,} test pictures: {health}", n=stats.total, health=narrative.health_sentence(health))
        else:
            line = _("SE health on {n:,} pictures: {health}", n=stats.total, health=narrative.health_sentence(health))
        st.markdown(line + " " + _("The Class patterns page shows it block by block."))
    st.info(_("{model} knows only the {n} CIFAR-10 classes ({classes}) and sees every picture at 32×32: a picture of "
              "anything else still gets one of these names.", model=model.name, n=len(model.class_names),
              classes=", ".join(model.class_names)), icon=":material/info:")
    per_class = card["test"]["per_class"]
    st.dataframe({_("class"): list(per_class), _("accuracy"): [f"{v:.1%}" for v in per_class.values()]},
                 hide_index=True, width=320)
elif model.random_weights:
    st.info(_("Random weights: predictions are not meaningful."))
else:
    st.caption(_("Weights: {weights}", weights=common.plain(common.weights_label(model))))
st.subheader(_("How SE came alive over training"))
common.training_history(card, art["twin"])
st.subheader(_("Where to go next"))
for key, label in (
        ("lesson", _("Lesson: the paper in ten steps on this model, with questions to answer first")),
        ("inspect", _("Inspect: a picture's z and s in every block, and channel reweighting")),
        ("compare", _("Compare: two pictures, a picture and a class, or SE and its twin")),
        ("patterns", _("Class patterns: the paper's excitation figure for this model")),
        ("equations", _("Equations: Eqs. 1-5 step by step with live numbers")),
        ("cost", _("Architecture & cost: parameters, FLOPs and the reduction ratio r")),
        ("ablation", _("Ablation: switch SE off and see what changes"))):
    navigation.link(key, label)
