"""Equations: Eqs. 1-5 of the paper beside the live numbers of the current picture and block."""

from __future__ import annotations

import numpy as np
import streamlit as st

from senet_viz import plots
from senet_viz.cost import bottleneck
from senet_viz.data import CIFAR10_CLASSES
from senet_viz.equations import u_origin, walkthrough
from senet_viz.i18n import _
from ui import common

STEPS = ["U = F_tr(X)", _("Squeeze z"), "W1 z + b1", "δ ({delta})", "W2 δ + b2", "σ → s", _("Scale s_c · u_c"),
         _("Check & Eq. 5")]


def vec(v: np.ndarray, n: int = 8) -> str:
    shown = ", ".join(f"{x:.4g}" for x in v[:n])
    return f"[{shown}{', …' if len(v) > n else ''}]  " + _("({n} values)", n=len(v))


st.title(_("The equations, step by step"))
model = common.active_model()
if not common.need_se_blocks(model):
    st.stop()
common.link_note()
with st.expander(_("Picture"), expanded=False):
    common.gallery_picker("eq", st.session_state.get("picture_key") or st.query_params.get("picture"),
                          model.class_names == list(CIFAR10_CLASSES), on_pick=common.use_gallery_picture)
    st.caption(_("Or upload one on the Inspect page; it is used here too."))
name, data = common.picture_or_default()
block_name = common.block_picker(model, _("SE block"), key="eq_block")
picture, cap = common.capture_picture(model, name, data, maps=(block_name,))
if cap is None:
    st.stop()
s_net = cap.excitation[block_name][0]
if st.session_state.get("eq_channel_for") != (block_name, name):  # a new block or picture: its most excited channel
    st.session_state.eq_channel = int(np.argmax(s_net))
    st.session_state.eq_channel_for = (block_name, name)
channel = int(st.number_input(_("Channel c shown in full"), 0, len(s_net) - 1, key="eq_channel"))
w = walkthrough(model, picture, block_name, channels=[channel], cap=cap)
STEPS = [label.format(delta=w.delta_name) for label in STEPS]  # the block's own non-linearity (SiLU in EfficientNet)
C, H, W = w.u_shape

if "eq_step" not in st.session_state:  # a link names its step, 1-based
    wanted = st.query_params.get("step", "1")
    st.session_state.eq_step = min(max(int(wanted) - 1, 0), len(STEPS) - 1) if wanted.isdigit() else 0
origin = u_origin(model, block_name)
stats = common.matching_stats(model)
health = {h.name: h for h in stats.health()} if stats is not None else {}


@st.fragment
def steps_view() -> None:
    """The steps shown so far; Previous and Next redraw this part of the page only."""
    b1, b2, b3 = st.columns([1, 1, 4])
    if b1.button("◀ " + _("Previous"), disabled=st.session_state.eq_step == 0):
        st.session_state.eq_step -= 1
    if b2.button(_("Next") + " ▶", disabled=st.session_state.eq_step == len(STEPS) - 1):
        st.session_state.eq_step += 1
    step = st.session_state.eq_step
    st.query_params["step"] = str(step + 1)
    b3.markdown("**" + _("Step {step} of {n}", step=step + 1, n=len(STEPS)) + f"**: {STEPS[step]}")
    st.caption(_("Picture: {name} · model {model} · block {block} (C = {c}, {bottleneck}) · prediction uses the same "
                 "forward pass.", name=common.plain(name), model=model.label, block=block_name, c=C,
                 bottleneck=bottleneck(model.blocks, w.block)))

    def row(i: int, latex: str, body) -> None:
        if step < i:
            return
        left, right = st.columns([2, 3])
        with left:
            st.markdown(f"**{i + 1}. {STEPS[i]}**")
            st.latex(latex)
        with right:
            body()


    def u_c() -> np.ndarray:
        return w.u_maps[0]


    row(0, r"u_c = \mathbf{v}_c * \mathbf{X} = \sum_{s=1}^{C'} \mathbf{v}_c^s * \mathbf{x}^s",
        lambda: st.markdown(origin.text + "  \n" + _("Channel {c} of U has values from {low:.3f} to {high:.3f}.", c=channel,
                                                       low=u_c().min(), high=u_c().max())))
    row(1, r"z_c = \mathbf{F}_{sq}(\mathbf{u}_c) = \frac{1}{H \times W}\sum_{i=1}^{H}\sum_{j=1}^{W} u_c(i,j)",
        lambda: st.markdown(_("Squeeze: {squeeze}.", squeeze=w.squeeze_name) + "  \n"
                            + _("For c = {c}: the sum over {h}×{w} = {hw} positions is **{total:.4f}**, so z_{c} = "
                                "{total:.4f} / {hw} = **{z:.5f}**.", c=channel, h=H, w=W, hw=w.hw, total=w.u_sum[channel],
                                z=w.z[channel]) + f"  \nz = {vec(w.z)}"))
    row(2, r"\mathbf{a} = W_1 \mathbf{z} + \mathbf{b}_1,\quad W_1 \in \mathbb{R}^{\frac{C}{r}\times C}",
        lambda: st.markdown(_("W1 is {rows}×{cols}, b1 has {n} entries.", rows=w.w1.shape[0], cols=w.w1.shape[1],
                              n=len(w.b1)) + f"  \nW1 z + b1 = {vec(w.fc1_out)}"
                            + ("  \n" + _("then {bn} (this block has one).", bn=w.bn_name) if w.bn_name else "")))
    def show_delta():
        positive, clear = int((w.hidden > 0).sum()), int((w.hidden > 1e-3).sum())
        text = (_("δ here is **{delta}**: {values}.", delta=w.delta_name, values=vec(w.hidden)) + "  \n"
                + _("For this picture {positive} of {n} hidden units are above zero ({clear} of them above 0.001).",
                    positive=positive, n=len(w.hidden), clear=clear))
        h = health.get(block_name)
        if h is not None:
            text += "  \n" + _("Over {n:,} pictures this block {state}.", n=stats.total, state=h.describe())
        st.markdown(text)


    row(3, r"\delta(\mathbf{a}) = \max(0, \mathbf{a})" if w.delta_name == "ReLU" else rf"\delta = \text{{{w.delta_name}}}", show_delta)
    row(4, r"\mathbf{b} = W_2\,\delta(\mathbf{a}) + \mathbf{b}_2,\quad W_2 \in \mathbb{R}^{C\times\frac{C}{r}}",
        lambda: st.markdown(_("W2 is {rows}×{cols}.", rows=w.w2.shape[0], cols=w.w2.shape[1])
                            + f"  \nW2 δ + b2 = {vec(w.pre_gate)}"))
    row(5, r"\mathbf{s} = \mathbf{F}_{ex}(\mathbf{z}, \mathbf{W}) = \sigma(W_2\,\delta(W_1\mathbf{z}))",
        lambda: st.markdown((_("σ here is **{gate}** (MobileNetV3's hard sigmoid).", gate=w.gate_name)
                             if w.gate_name == "Hardsigmoid" else _("σ here is **{gate}**.", gate=w.gate_name))
                            + f"  \ns = {vec(w.s)}  \n"
                            + _("s_{c} = **{value:.5f}**; min {low:.4f}, max {high:.4f}, mean {mean:.4f}.", c=channel,
                                value=w.s[channel], low=w.s.min(), high=w.s.max(), mean=w.s.mean())))


    if step >= 5:
        st.markdown(_("**Eq. 3 as data flowing**, with this picture's numbers"))
        delta = _("{delta} after {bn}", delta=w.delta_name, bn=w.bn_name) if w.bn_name else w.delta_name
        common.draw(plots.excitation_flow(w.z, w.w1, w.fc1_out, w.hidden, w.w2, w.pre_gate, w.s,
                                          delta_name=delta, gate_name=w.gate_name), key="excitation_flow")
        live = int((w.hidden > 0).sum())
        st.caption(_("{c} numbers z go in; W1 ({w1}) makes {hidden}, of which δ keeps {live} above zero; W2 ({w2}) makes {c} "
                     "again and the gate squeezes them into s between {low:.3f} and {high:.3f}. a = W1 z + b1, δ = {delta}, "
                     "b = W2 δ(a) + b2, σ = {gate}. Red: positive, blue: negative (0 is white); s on its own scale from "
                     "dark (0) to yellow (1).", c=C, w1="×".join(map(str, w.w1.shape)), hidden=len(w.hidden), live=live,
                     w2="×".join(map(str, w.w2.shape)), low=w.s.min(), high=w.s.max(), delta=delta, gate=w.gate_name))
        with st.expander(_("The numbers")):
            st.dataframe({_("channel"): list(range(C)), "z": w.z, "W2 δ + b2": w.pre_gate, "s": w.s}, hide_index=True)

    def show_scale():
        u = u_c()
        scaled = w.scaled_maps[0]
        st.markdown(_("x̃_{c} = {s:.4f} · u_{c}: the whole map is multiplied by one number.", c=channel, s=w.s[channel]))
        common.draw(plots.channel_maps(u[None], scaled[None], [channel], w.s).update_layout(height=420), key="scale_map")


    row(6, r"\tilde{\mathbf{x}}_c = \mathbf{F}_{scale}(\mathbf{u}_c, s_c) = s_c\,\mathbf{u}_c", show_scale)


    def show_check():
        ok = max(w.checks.values()) < 1e-4
        st.markdown((":material/check_circle:" if ok else ":material/warning:") + " "
                    + _("Recomputed in float64 from the block's own parameters against what the network computed: {gaps}",
                        gaps=", ".join(f"max |Δ{k}| = {v:.2e}" for k, v in w.checks.items())))
        rep = common.cached_cost(model, common.model_key(model), None)
        terms = " + ".join(f"{s.blocks}\\cdot{s.channels}^2" for s in rep.stages)
        st.latex(rf"\frac{{2}}{{r}}\sum_s N_s C_s^2 = \frac{{2}}{{{rep.reduction:g}}}\left({terms}\right) = {rep.eq5_params:,.0f}")
        st.markdown(_("Counted SE parameters (with biases and the real bottleneck widths): **{se:,}**, {share:.2f}% of the "
                      "{base:,} parameters without SE.", se=rep.se_params, share=rep.overhead_pct, base=rep.base_params))


    row(7, r"\text{Eq. 5: } \frac{2}{r}\sum_{s=1}^{S} N_s\, C_s^2", show_check)
    if step < len(STEPS) - 1:
        st.caption(_("Press Next to reveal the next step."))


steps_view()
