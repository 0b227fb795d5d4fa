"""Architecture & cost: per-block parameters and FLOPs, the SE share per stage, the reduction ratio r."""

from __future__ import annotations

import streamlit as st

from senet_viz import narrative, plots
from senet_viz.cost import downsampling_convolution
from senet_viz.i18n import _
from senet_viz.paper import TABLE_10
from ui import common

st.title(_("Architecture & cost"))
model = common.active_model()
key = common.model_key(model)
if not model.blocks:  # a network without SE: the reference the SE networks are measured against
    ref = common.cached_cost(model, key, None)
    st.info(_("{model} has no SE blocks: it is the no-SE reference. Pick its SE counterpart in the sidebar to see what SE "
              "adds to it.", model=model.name), icon=":material/compare_arrows:")
    m1, m2, m3 = st.columns(3)
    m1.metric(_("Parameters"), f"{ref.total_params / 1e6:.3f}M")
    m2.metric(_("SE parameters"), "0")
    m3.metric(_("FLOPs (multiply-adds)"), f"{ref.total_flops / 1e9:.3f}G")
    st.stop()

R_CHOICES = [2, 4, 8, 16, 32]
if "r" not in st.session_state:  # a link names r and the last-stage toggle
    wanted = st.query_params.get("r", "16")
    st.session_state.r = int(wanted) if wanted.isdigit() and int(wanted) in R_CHOICES else 16
    st.session_state.no_last = st.query_params.get("no_last") == "1"
r = st.select_slider(_("Reduction ratio r"), R_CHOICES, key="r")
rep = common.cached_cost(model, key, r)
built = common.cached_cost(model, key, None)
no_last = st.toggle(_("No SE in the last stage"), key="no_last")
st.query_params["r"] = str(r)
common.sync_query_param("no_last", "1" if no_last else None)

se_params = rep.se_params - (rep.stages[-1].params if rep.stages else 0) if no_last else rep.se_params
overhead = rep.overhead_without_last_stage_pct if no_last else rep.overhead_pct
m1, m2, m3, m4 = st.columns(4)
m1.metric(_("Parameters without SE"), f"{rep.base_params / 1e6:.3f}M")
m2.metric(_("with SE (none in the last stage)") if no_last else _("with SE"), f"{(rep.base_params + se_params) / 1e6:.3f}M",
          f"+{overhead:.2f}%", delta_color="inverse")
m3.metric(_("SE parameters"), f"{se_params:,}", _("{share:.2f}% overhead", share=overhead), delta_color="off")
m4.metric(_("FLOPs (multiply-adds)"), f"{rep.total_flops / 1e9:.3f}G", f"+{rep.flops_overhead_pct:.2f}%",
          delta_color="inverse")
st.caption(_("Counted from the architecture at input {h}×{w}; the model as built uses r = {r:g} ({n:,} SE parameters).",
             h=rep.input_size[1], w=rep.input_size[2], r=built.reduction, n=built.se_params)
           + " " + narrative.eq5_sentence(rep).replace("**", "")
           + (" " + _("FLOPs are those of the whole network with SE in every stage.") if no_last else ""))
stride = downsampling_convolution(model.net)
if stride == "3x3":
    st.caption(_("{model} puts each stage's stride 2 in the 3×3 convolution (ResNet v1.5, timm's and torchvision's "
                 "design), which costs more FLOPs than the paper's network, whose stride sits in the first 1×1 "
                 "convolution: the paper's 3.87G for SE-ResNet-50 is what legacy_seresnet50 (the original design) counts "
                 "here.", model=model.name))
elif stride == "1x1":
    st.caption(_("{model} puts each stage's stride 2 in the first 1×1 convolution, as the paper's SE-ResNets do, so its "
                 "FLOPs compare directly with the paper's (3.87G for SE-ResNet-50).", model=model.name))

left, right = st.columns([3, 2])
with left:
    st.subheader(_("Per block"))
    st.dataframe(
        {_("block"): [b.name for b in rep.blocks], _("stage"): [b.stage for b in rep.blocks],
         "C": [b.channels for b in rep.blocks], _("h (hidden units)"): [b.hidden for b in rep.blocks],
         "C/r": [round(b.channels / rep.reduction, 2) for b in rep.blocks],
         _("raised to the floor"): [b.floored for b in rep.blocks], _("parameters"): [b.params for b in rep.blocks],
         "MFLOPs": [round(b.flops / 1e6, 4) for b in rep.blocks]},
        hide_index=True, width="stretch", height=min(600, 36 * len(rep.blocks) + 40))
with right:
    st.subheader(_("SE parameters per stage"))
    common.draw(plots.se_params_by_stage(rep))
    share = rep.stages[-1].params / max(1, rep.se_params)
    st.caption(_("The last stage holds {share:.0%} of the SE parameters at r = {r}: C_s² grows fastest with the width.",
                 share=share, r=r))
    common.paper_note(_("for SE-ResNet-50 about 1.57M of the 2.51M SE parameters (Eq. 5) sit in the last stage; removing "
                        "SE there costs < 0.1% top-5 error and cuts the overhead from about 10% to about 4%."))

st.subheader(_("The paper's Table 10: reduction ratio r (SE-ResNet-50, ImageNet)"))
st.dataframe({"r": list(TABLE_10), _("top-1 err. (%)"): [f"{v[0]:.2f}" for v in TABLE_10.values()],
              _("top-5 err. (%)"): [f"{v[1]:.2f}" for v in TABLE_10.values()],
              _("params (M)"): [f"{v[2]:.1f}" for v in TABLE_10.values()]},
             hide_index=True)
st.caption(_("The paper's figures, from its longer ablation schedule (baseline ResNet-50: 23.30 / 6.55). r = 16 is its "
             "chosen trade-off. Pick seresnet50 in the sidebar to see the counted parameters reproduce the last column."))

st.subheader(_("Where SE sits"))
a, b = st.columns(2)
common.draw(plots.module_diagram("resnet"), where=a)
common.draw(plots.module_diagram("inception"), where=b)
st.caption(_("SE-ResNet: on the residual branch, before the addition with the identity; the scale multiplies U itself, "
             "which reaches it directly, by the gate s computed from U. SE-Inception: on the module's output."))
