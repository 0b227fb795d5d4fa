"""Lesson: the paper in ten steps on the loaded model; most steps ask a question before they show.

Every number, sentence and answer comes from the loaded model, its capture of the picture, its
statistics, ablation results and cards (``senet_viz.lesson`` holds the questions). A step whose
question needs something the loaded weights lack says so and offers what it can compute here.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from senet_viz import film as film_module
from senet_viz import gallery, lesson, narrative, plots
from senet_viz.compare import divergence, most_different
from senet_viz.cost import bottleneck
from senet_viz.data import CIFAR10_CLASSES
from senet_viz.equations import squeeze_kind, u_origin, walkthrough
from senet_viz.i18n import _
from senet_viz.rooms import PASSWORD_ENV
from ui import common, lesson_room, questions

STEPS = lesson.STEPS
#: Large type, no sidebar, the whole width: readable from the back of a lecture hall.
PRESENTER_CSS = """<style>
html { font-size: 21px; }
section[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stExpandSidebarButton"] { display: none; }
.block-container { max-width: 100%; padding-top: 1.5rem; }
</style>"""


def go_to(step: int) -> None:
    st.session_state.lesson_step = min(max(step, 0), len(STEPS) - 1)


def chart(fig, summary: str, numbers: dict | None = None, key: str | None = None) -> None:
    """A chart, one line saying what it shows, and its numbers in an expander."""
    common.draw(fig, key=key)
    st.caption(common.plain(summary))  # summaries name classes, which may be user text
    if numbers:
        with st.expander(_("The numbers")):
            st.dataframe(common.table(numbers), hide_index=True)


def ask(question: lesson.Question, ctx: dict) -> bool:
    """Predict, then reveal, as this session's role in the room does it (``ui.questions``)."""
    return questions.ask(ctx["room"], question, ctx["step"])


def stats_or_offer(model):
    """Statistics of the loaded weights, or an offer to compute them on the shipped gallery."""
    stats = common.matching_stats(model)
    if stats is not None:
        return stats
    reason = common.shipped(model)["stats"].reason
    st.info(_("This step needs class statistics of the loaded weights: {reason}. They can be computed here on the "
              "gallery's {n} CIFAR-10 test pictures (10 per class), or on the whole test split on the Class patterns "
              "page.", reason=reason, n=10 * len(gallery.cifar_classes())), icon=":material/query_stats:")
    if st.button(_("Compute statistics on the gallery"), key="lesson_gallery_stats"):
        st.session_state.computed_stats = common.gallery_stats(model, common.model_key(model), model.weights_sha256)
        return st.session_state.computed_stats
    return None


def ablation_or_offer(model) -> dict | None:
    art = common.shipped(model)["ablation"]
    if art.value is not None:
        return art.value
    own = st.session_state.get("lesson_ablation")
    if own is not None and own[0] == (common.model_key(model), model.weights_sha256):
        return own[1]
    if model.class_names != list(CIFAR10_CLASSES):
        st.info(_("No ablation results for these weights ({reason}), and {model} does not name the CIFAR-10 classes, so "
                  "the gallery cannot measure its accuracy.", reason=art.reason, model=model.name),
                icon=":material/science:")
        return None
    st.info(_("No ablation results for these weights: {reason}. They can be measured here on the gallery's {n} CIFAR-10 "
              "test pictures, or on all 10,000 with the project's ablate command.", reason=art.reason,
              n=10 * len(gallery.cifar_classes())), icon=":material/science:")
    if st.button(_("Measure on the gallery"), key="lesson_gallery_ablation"):
        result = common.gallery_ablation(model, common.model_key(model), model.weights_sha256)
        st.session_state.lesson_ablation = ((common.model_key(model), model.weights_sha256), result)
        return result
    return None


def true_or_predicted(key: str | None, cap, stats) -> str:
    """The class the picture shows where the gallery knows it, else the model's top class."""
    cls = gallery.true_class(key) if key else None
    if cls in stats.class_names:
        return cls
    top = cap.top(1)[0][0][0]
    return top if top in stats.class_names else stats.class_names[0]


# --- the steps: each draws its screen and asks its question through ask() -----------------------------------------


def step_problem(ctx: dict) -> None:
    model, w = ctx["model"], ctx["walk"]
    block = w.block
    widths = sorted({b.channels for b in model.blocks})
    st.markdown(
        _("A convolution mixes the channels of its input with filters learned once, the same for every picture. "
          "{model} has {n} SE blocks, each on a U of C = {widths} channels.", model=common.plain(model.name),
          n=len(model.blocks), widths=", ".join(map(str, widths))) + " " + u_origin(model, block.name).text)
    sizes = (block.channels, block.hidden)
    common.draw(common.shared("se_block", sizes, lambda: plots.se_block_diagram(*sizes)))
    st.caption(_("{block}: U (C = {c}) → squeeze → excitation ({bottleneck}) → scale. Without SE the C maps of U go on "
                 "at full strength, whatever the picture.", block=block.name, c=block.channels,
                 bottleneck=bottleneck(model.blocks, block)))
    q = lesson.gate_length(block.name, block.channels, block.hidden, w.hw, ctx["at"][2])
    if ask(q, ctx):
        st.markdown(_("For this picture the gate of {block} gives its channels weights from **{low:.3f}** to "
                      "**{high:.3f}**: the network itself decides, picture by picture, which channels to keep.",
                      block=block.name, low=w.s.min(), high=w.s.max()))


def step_squeeze(ctx: dict) -> None:
    w, c = ctx["walk"], ctx["channel"]
    u = w.u_maps[0]
    st.latex(r"z_c = \frac{1}{H \times W}\sum_{i=1}^{H}\sum_{j=1}^{W} u_c(i,j)")
    left, right = st.columns(2)
    with left:
        chart(common.shared("u_map", (*ctx["at"], c),
                            lambda: plots.feature_map(u, _("u_{c} in {block}", c=c, block=w.block.name))),
              _("Channel {c} of U for this picture: {h}×{w} values from {low:.3f} to {high:.3f} (red positive, blue "
                "negative, white 0).", c=c, h=u.shape[0], w=u.shape[1], low=u.min(), high=u.max()),
              {_("row"): np.repeat(np.arange(u.shape[0]), u.shape[1]),
               _("column"): np.tile(np.arange(u.shape[1]), u.shape[0]), "u": u.ravel()}, key="lesson_map")
    with right:
        if ask(lesson.squeeze_value(u, c, squeeze_kind(w.block)), ctx):
            chart(plots.vector_bars(w.z, _("z in {block}", block=w.block.name), value_name="z"),
                  _("The squeeze of all {n} channels: z from {low:.3f} to {high:.3f}; z_{c} = {zc:.4f} is channel {c}'s "
                    "bar. Squeeze used: {squeeze}.", n=len(w.z), low=w.z.min(), high=w.z.max(), c=c, zc=w.z[c],
                    squeeze=w.squeeze_name),
                  {_("channel"): list(range(len(w.z))), "z": w.z}, key="lesson_z")


def step_excite(ctx: dict) -> None:
    w = ctx["walk"]
    st.latex(r"\mathbf{s} = \sigma\big(W_2\,\delta(W_1\mathbf{z} + \mathbf{b}_1) + \mathbf{b}_2\big)")
    delta = _("{delta} after {bn}", delta=w.delta_name, bn=w.bn_name) if w.bn_name else w.delta_name
    st.markdown(_("The {n} numbers z go through a bottleneck of {bottleneck}: W1 is {w1}, δ is {delta}, W2 is {w2} and σ "
                  "is {gate}. Every s_c depends on all of z: this is where the channels talk to each other.", n=len(w.z),
                  bottleneck=bottleneck(ctx["model"].blocks, w.block), w1="×".join(map(str, w.w1.shape)), delta=delta,
                  w2="×".join(map(str, w.w2.shape)), gate=w.gate_name))
    if ask(lesson.damped_channels(w.s, w.block.name, w.gate_name), ctx):
        live = int((w.hidden > 0).sum())
        chart(plots.excitation_flow(w.z, w.w1, w.fc1_out, w.hidden, w.w2, w.pre_gate, w.s, delta_name=delta,
                                    gate_name=w.gate_name),
              _("Eq. 3 as data flowing, this picture's numbers: {n} values z in; W1 makes {hidden}, of which δ keeps "
                "{live} above zero; W2 makes {c} again and σ maps them to s between {low:.3f} and {high:.3f}. Signed "
                "values red/blue around 0, s from dark (0) to yellow (1).", n=len(w.z), hidden=len(w.hidden), live=live,
                c=len(w.s), low=w.s.min(), high=w.s.max()),
              {_("channel"): list(range(len(w.z))), "z": w.z, "W2 δ + b2": w.pre_gate, "s": w.s}, key="lesson_flow")


def step_scale(ctx: dict) -> None:
    model, picture, block_name = ctx["model"], ctx["picture"], ctx["block"]
    st.latex(r"\tilde{\mathbf{x}}_c = s_c\,\mathbf{u}_c")
    shown = common.shared("walk_top3", ctx["at"],  # the 3 most and 3 least excited channels
                          lambda: walkthrough(model, picture, block_name, cap=ctx["cap"], top=3))
    hi, lo = shown.channels[0], shown.channels[-1]
    chart(common.shared("scale_maps", ctx["at"],
                               lambda: plots.channel_maps(shown.u_maps, shown.scaled_maps, shown.channels, shown.s)),
          _("Top row u_c, bottom row s_c · u_c, on one colour scale, for the 3 most and 3 least excited channels of "
            "{block}: channel {hi} keeps {keep_hi:.0%} of its map, channel {lo} {keep_lo:.0%}.", block=block_name, hi=hi,
            keep_hi=shown.s[hi], lo=lo, keep_lo=shown.s[lo]),
          {_("channel"): shown.channels, "s_c": shown.s[shown.channels],
           "max |u_c|": np.abs(shown.u_maps).reshape(len(shown.channels), -1).max(1),
           "max |s_c u_c|": np.abs(shown.scaled_maps).reshape(len(shown.channels), -1).max(1)}, key="lesson_scale")
    st.markdown(_("Checked against the network's own output: max |s·U recomputed − block output| = {gap:.1e}, so this "
                  "is what the model computed, not an illustration.", gap=shown.checks["s*U"]))


def step_fingerprint(ctx: dict) -> None:
    cap = ctx["cap"]
    st.markdown(_("Every SE block computes its own s for this picture. Stacked block by block ({n} rows), they are the "
                  "picture's excitation fingerprint.", n=len(cap.block_names)))
    excitation = {b: cap.excitation[b][0] for b in cap.block_names}
    if ask(lesson.varied_stage(excitation), ctx):
        spread = lesson.stage_spread(excitation)
        chart(plots.fingerprint(cap.fingerprint(), cap.block_names),
              _("s of every block (rows) and channel (columns) for this picture, dark 0 to yellow 1; spread of s by "
                "stage: {trail}.", trail=narrative.stage_trail(spread, 3)),
              {_("block"): cap.block_names, _("min s"): [float(excitation[b].min()) for b in cap.block_names],
               _("mean s"): [float(excitation[b].mean()) for b in cap.block_names],
               _("max s"): [float(excitation[b].max()) for b in cap.block_names]}, key="lesson_fingerprint")


def step_pair(ctx: dict) -> None:
    model, cap, block_name = ctx["model"], ctx["cap"], ctx["block"]
    keys = gallery.keys()
    first_key = ctx["picture_key"]
    other_default = next((k for k in keys if k.startswith("cifar-") and gallery.group(k) != gallery.group(first_key or "")),
                         keys[0])
    st.session_state.setdefault("lesson_other", other_default)
    other = st.selectbox(_("Second picture"), keys, key="lesson_other",
                         format_func=lambda k: gallery.caption(k, model.class_names == list(CIFAR10_CLASSES)))
    other_bytes = common.gallery_bytes(other)
    other_pic, other_cap = common.capture_picture(model, f"gallery: {other}", other_bytes)
    if other_cap is None:
        return
    cifar = model.class_names == list(CIFAR10_CLASSES)
    name_a = gallery.caption(first_key, cifar) if first_key else ctx["name"]
    name_b = gallery.caption(other, cifar)
    c1, c2 = st.columns(2)
    c1.image(common.thumbnail(ctx["picture"], ctx["at"][2], 160), caption=common.plain(f"A: {name_a} → {cap.top(1)[0][0][0]}"),
             alt=_("Picture A: {name}", name=name_a), width=160)
    c2.image(common.thumbnail(other_pic, common.picture_hash(other_bytes), 160),
             caption=common.plain(f"B: {name_b} → {other_cap.top(1)[0][0][0]}"), alt=_("Picture B: {name}", name=name_b),
             width=160)
    stats = common.matching_stats(model)

    def pair() -> tuple:
        div = divergence(cap, other_cap)
        if stats is None:
            return div, lesson.parting_stage(div)
        classes = [true_or_predicted(first_key, cap, stats), true_or_predicted(other, other_cap, stats)]
        return div, lesson.closer_to_class(stats, block_name, classes, {"A": cap.excitation[block_name][0],
                                                                        "B": other_cap.excitation[block_name][0]})

    # what both pictures make is computed once per pair, not once per follower
    div, q = common.shared("pair", (*ctx["at"], first_key, other, common.picture_hash(other_bytes),
                                    common.stats_key(stats) if stats is not None else None), pair)
    if ask(q, ctx):
        sa, sb = cap.excitation[block_name][0], other_cap.excitation[block_name][0]
        marked = most_different(sa, sb, 3)
        chart(plots.pair_lines(sa, sb, ("A", "B"), marked, _("s in {block}", block=block_name)),
              _("s of both pictures over the {n} channels of {block}; the 3 most different channels ({marked}) marked; "
                "mean |s_A − s_B| = {gap:.3f}.", n=len(sa), block=block_name, marked=", ".join(map(str, marked)),
                gap=np.abs(sa - sb).mean()),
              {_("channel"): list(range(len(sa))), "s_A": sa, "s_B": sb}, key="lesson_pair")
        chart(plots.divergence_chart([d.name for d in div], [d.cosine_distance for d in div], [d.mean_abs for d in div]),
              _("How far the two pictures' s lie apart, block by block, from input to output."), None, key="lesson_div")


def step_classes(ctx: dict) -> None:
    st.markdown(_("The paper's figure: for each class, the mean s over its pictures, channel by channel, in the last "
                  "block of each stage. Lines that coincide mean the block treats the classes alike."))
    stats = stats_or_offer(ctx["model"])
    if stats is None:
        return
    question = common.shared("separating_stage", (*common.model_key(ctx["model"]), *common.stats_key(stats)),
                             lambda: lesson.separating_stage(stats))
    if ask(question, ctx):
        blocks = plots.default_blocks(stats.blocks)
        classes = stats.class_names[:4]
        chart(plots.excitation_figure(stats, blocks, classes),
              _("Class-mean s of {classes} and of all classes (dashed) in {blocks}, over {n:,} pictures.",
                classes=", ".join(classes), blocks=", ".join(blocks), n=stats.total) + " "
              + narrative.pattern_sentence(stats),
              {_("block"): blocks, _("specificity (between/within)"): [stats.specificity(b) for b in blocks]},
              key="lesson_classes")
        learned(ctx["model"])


def learned(model) -> None:
    """How the pattern came about: each stage's class-specificity over the training of these weights."""
    film = common.shipped(model)["film"].value
    if film is None:
        return
    st.markdown(_("How did it come about? The same network during its training, measured after every epoch on the "
                  "same test pictures:"))
    spec = film_module.stage_specificity_over_epochs(film)
    chart(common.shared("film-specificity", (model.weights_sha256, None), lambda: plots.specificity_figure(film)),
          film_module.film_sentence(film) + " " + _("The film plays on the Class patterns page."),
          {_("epoch"): film.epochs, **{_("stage {stage}", stage=k): [round(float(x), 3) for x in v] for k, v in spec.items()}},
          key="lesson_film")


def step_ablation(ctx: dict) -> None:
    model, picture, cap = ctx["model"], ctx["picture"], ctx["cap"]
    last = max(b.stage for b in model.blocks)
    blocks = [b.name for b in model.blocks if b.stage == last]
    off = common.shared_ablation(model, common.model_key(model), ctx["at"][2], picture, tuple(blocks))
    (before, p0), (after, p1) = cap.top(1)[0][0], off.top(1)[0][0]
    st.markdown(_("Set s := 1 in stage {stage} ({blocks}) and keep every weight: this picture goes from **{before}** "
                  "({p0:.1%}) to **{after}** ({p1:.1%}).", stage=last, blocks=", ".join(blocks),
                  before=common.plain(before), p0=p0, after=common.plain(after), p1=p1))
    result = ablation_or_offer(model)
    if result is None:
        return
    group = f"stage {last}"
    if f"off: {group}" not in result["top1"]:
        st.info(_("The ablation results hold no row for {group}.", group=group))
        return
    if ask(lesson.ablation_drop(result, group, trained=not model.random_weights), ctx):
        top1 = result["top1"]
        keys = [k for k in top1 if k == "none" or k.startswith("off: ")]
        chart(plots.stage_off_bars(top1),
              _("Top-1 accuracy on {n:,} test pictures with s := 1 in each stage, in all, and in none.", n=result["n"])
              + " " + narrative.ablation_sentence(result),
              {_("s := 1 in"): keys, "top-1": [top1[k] for k in keys]}, key="lesson_ablation_chart")


R_CHOICES = [4, 8, 16, 32]


def step_cost(ctx: dict) -> None:
    model = ctx["model"]
    key = common.model_key(model)
    st.latex(r"\text{SE parameters} \approx \frac{2}{r}\sum_{s=1}^{S} N_s\, C_s^2")
    built = common.cached_cost(model, key, None)
    st.markdown(narrative.cost_sentence(built))
    if ask(lesson.se_parameter_share(built), ctx):
        nominal = int(built.reduction) if built.reduction in R_CHOICES else 16
        r = st.select_slider(_("Reduction ratio r"), R_CHOICES, value=nominal, key="lesson_cost_r")
        at_r, exact = common.cached_cost(model, key, float(r)), common.cached_cost(model, key, float(r), False)
        floored = at_r.eq5_gap().floored
        at_gap = at_r.eq5_gap()
        summary = _("SE parameters of {model} per stage at r = {r}, counted from its modules: {counted:,} ({share:.2f}% "
                    "of the network without SE) against Eq. 5's {eq5:,.0f}.", model=model.name, r=r,
                    counted=at_r.se_params, share=at_r.overhead_pct, eq5=at_gap.eq5)
        if floored:
            summary += " " + _("With h = C/r exactly: {exact:,} ({share:.2f}%).", exact=exact.se_params,
                               share=exact.overhead_pct)
        chart(plots.se_params_at_r(at_r, exact if floored else None, r), summary,
              {_("stage"): [s.stage for s in at_r.stages], "N_s": [s.blocks for s in at_r.stages],
               "C_s": [s.channels for s in at_r.stages], _("counted"): [s.params for s in at_r.stages],
               _("C/r exactly"): [s.params for s in exact.stages], "Eq. 5": [s.eq5_params for s in at_r.stages]},
              key="lesson_cost")


def step_twin(ctx: dict) -> None:
    model = ctx["model"]
    art = common.shipped(model)
    card, twin = art["card"], art["twin"]
    if not card or "test" not in card or not twin or "test" not in twin:
        why = (_("random weights have no card") if model.random_weights else
               _("{model} with these weights has no card of a twin trained alike without SE", model=common.plain(model.name)))
        st.info(_("This step compares a model with its twin trained the same way without SE: {why}. The project's own "
                  "models come in such pairs (se_resnet20_cifar10 and resnet20_cifar10).", why=why),
                icon=":material/compare:")
        return
    st.markdown(_("{model} and {twin}: {training}, evaluated on the same {n:,} test pictures. The test set is finite, so "
                  "a difference needs an interval.", model=card["name"], twin=twin["name"],
                  training=narrative.same_training(card, twin), n=card["test"]["n"]))
    if ask(lesson.beats_twin(card, twin), ctx):
        diff, lo, hi, _paired = narrative.accuracy_difference(card, twin)
        chart(plots.twin_accuracy(card, twin), narrative.gain_sentence(card, twin).replace("**", ""),
              {_("model"): [card["name"], twin["name"]], "top-1": [card["test"]["top1"], twin["test"]["top1"]],
               _("SE − twin (points)"): [diff, None], _("95% low"): [lo, None], _("95% high"): [hi, None]},
              key="lesson_twin")


RENDER = {"problem": step_problem, "squeeze": step_squeeze, "excite": step_excite, "scale": step_scale,
          "fingerprint": step_fingerprint, "pair": step_pair, "classes": step_classes, "ablation": step_ablation,
          "cost": step_cost, "twin": step_twin}


# --- the page ------------------------------------------------------------------------------------------------------

model = common.active_model()
if not common.need_se_blocks(model):
    st.stop()
block_names = [b.name for b in model.blocks]
room = lesson_room.RoomSession.for_this_run(block_names, common.model_spec(model))
if "lesson_step" not in st.session_state:  # a link names its step, 1-based
    first, refused = lesson.step_from_link(st.query_params.get("step"))
    go_to(first)
    if refused:
        common.error(str(refused))
if "lesson_present" not in st.session_state:
    st.session_state.lesson_present = st.query_params.get("present") == "1"
present = st.session_state.lesson_present
if present:
    st.html(PRESENTER_CSS)
common.sync_query_param("present", "1" if present else None)

if room.role in (lesson_room.FOLLOWER, lesson_room.EXPLORER):
    lesson_room.student_bar(room.room)
    lesson_room.remember_browser()


def screen(room: lesson_room.RoomSession) -> None:
    """The step: its heading, the controls and what it shows and asks (a follower's is rerun alone
    when the room moves, ``RoomSession.draw``)."""
    if st.session_state.lesson_present != present:  # the toggle below, in a follower's screen rerun alone
        st.rerun(scope="app")
    step = st.session_state.lesson_step
    info = STEPS[step]
    st.query_params["step"] = str(step + 1)
    following = room.role == lesson_room.FOLLOWER
    head, toggle = st.columns([3, 1])
    head.title(f"{step + 1}. {info.title}")
    toggle.toggle(_("Presenter view"), key="lesson_present", help=_("Large type, no sidebar; ← and → move between steps."))
    nav = st.columns([1, 1, 3, 1])
    nav[0].button("◀ " + _("Previous"), on_click=go_to, args=(step - 1,), disabled=step == 0 or following, shortcut="Left",
                  key="lesson_prev")
    nav[1].button(_("Next") + " ▶", on_click=go_to, args=(step + 1,), disabled=step == len(STEPS) - 1 or following,
                  shortcut="Right", key="lesson_next", type="primary")
    nav[2].markdown("**" + _("Step {step} of {n}", step=step + 1, n=len(STEPS)) + "** · " + common.plain(model.label))
    if room.role == lesson_room.SOLO:
        start_at = room.place(step, None, common.model_spec(model))
        with nav[3].popover(_("Start a room"), icon=":material/group_add:"):
            st.caption(_("Students who open the room's link follow your steps and answer the questions."))
            if common.password_needed():
                st.text_input(_("Lecturer password"), type="password", key="room_password")
            else:
                st.caption(_("No lecturer password is set on this server: rooms start only from a browser on its own "
                             "machine. The operator sets {variable} to allow lecturers elsewhere.", variable=PASSWORD_ENV))
            st.button(_("Start"), key="room_start", type="primary", on_click=lesson_room.start, args=(start_at,))
    elif room.role == lesson_room.LECTURER:
        with st.expander(_("Room {code}: students follow this screen", code=room.room.code), expanded=not present,
                         icon=":material/group:"):
            lesson_room.lecturer_panel(room.room)

    if following:
        block_name = st.session_state.get("lesson_block") if st.session_state.get("lesson_block") in block_names else block_names[-1]
    else:
        with st.expander(_("Picture and block"), expanded=False):
            common.gallery_picker("lesson", st.session_state.get("picture_key") or st.query_params.get("picture"),
                                  model.class_names == list(CIFAR10_CLASSES), on_pick=common.use_gallery_picture)
            block_name = common.block_picker(model, _("SE block"), key="lesson_block")
            st.caption(_("An uploaded picture (Inspect page) is used here too."))
    name, data = common.picture_or_default()

    picture, cap = common.capture_picture(model, name, data, maps=(block_name,))
    if cap is None:
        st.stop()
    channel = lesson.squeeze_channel(cap.squeeze[block_name][0])
    at = (*common.model_key(model), common.picture_hash(data), block_name)  # what shared figures are drawn from
    ctx = {"room": room, "model": model, "step": step, "name": name, "picture": picture,
           "picture_key": st.session_state.get("picture_key"), "cap": cap, "block": block_name, "channel": channel, "at": at,
           # made once per picture, block and channel, not once per follower
           "walk": common.shared("walk", (*at, channel),
                                 lambda: walkthrough(model, picture, block_name, channels=[channel], cap=cap))}
    if not present:
        st.caption(_("Picture: {name} → {top} · block {block}", name=common.plain(name),
                     top=common.plain(cap.top(1)[0][0][0]), block=block_name))
    RENDER[info.key](ctx)
    # after drawing: the shared figures the class will ask for are made once, here, first
    room.after_drawing(room.place(step, block_name, common.model_spec(model)))


room.draw(screen)
