"""SENet Explorer: the entry point. Draws the shared sidebar, then runs the chosen page."""

from __future__ import annotations

import streamlit as st

st.set_page_config(page_title="SENet Explorer", page_icon=":material/hub:", layout="wide")

from senet_viz import narrative, plots  # noqa: E402
from senet_viz.cost import bottleneck  # noqa: E402
from senet_viz.models.project import training_summary  # noqa: E402
from ui import common  # noqa: E402  (after set_page_config)


def home() -> None:
    st.title("SENet Explorer")
    st.markdown(
        "A **Squeeze-and-Excitation** block lets a network reweigh its own channels, picture by picture. "
        "It *squeezes* each feature map $u_c$ of $U$ to one number $z_c$ (global average pooling), "
        "*excites* a gate $s = \\sigma(W_2\\,\\delta(W_1 z))$ from all of them, and *scales* every channel: "
        "$\\tilde x_c = s_c\\,u_c$ (Hu et al., *Squeeze-and-Excitation Networks*, CVPR 2018 / TPAMI 2019)."
    )
    model = common.active_model()
    first = model.blocks[0] if model.blocks else None
    sizes = (first.channels, first.hidden) if first else (None, None)
    common.draw(common.shared("se_block", sizes, lambda: plots.se_block_diagram(*sizes)))
    if first:
        st.caption(f"Numbers of {model.name}'s first block, {first.name}: C = {first.channels}, "
                   f"{bottleneck(model.blocks, first)}.")
    col1, col2, col3 = st.columns(3)
    col1.metric("Active model", model.label)
    col2.metric("SE blocks", len(model.blocks))
    device = "GPU" if model.device.type == "cuda" else "CPU"
    col3.metric("Runs on", device)
    art = common.shipped(model)
    card = art["card"]
    if card and "test" in card:
        hidden = sorted(set((card.get("se_hidden") or {}).values()))
        width = f", r = {card['reduction']} with {'/'.join(map(str, hidden))} hidden units per SE block" if hidden else ""
        st.markdown(
            f"**{model.name}**: {card['architecture']}{width}, trained by this project on CIFAR-10: "
            f"{training_summary(card)}. "
            f"Test accuracy **{card['test']['top1']:.2%}** on {card['test']['n']:,} pictures of the JPEG test split."
        )
        averaging = narrative.averaging_sentence(card)
        if averaging:
            st.markdown(averaging)
        if art["twin"] is not None:
            st.markdown(narrative.gain_sentence(card, art["twin"]))
        stats = common.matching_stats(model)
        health = stats.health() if stats is not None else []
        if health:
            origin = "test pictures" if "test" in str(stats.meta.get("source", "")) else "pictures"
            st.markdown(f"SE health on {stats.total:,} {origin}: {narrative.health_sentence(health)} "
                        "The Class patterns page shows it block by block.")
        st.info(f"{model.name} knows only the {len(model.class_names)} CIFAR-10 classes "
                f"({', '.join(model.class_names)}) and sees every picture at 32×32: a picture of anything else "
                "still gets one of these names.", icon=":material/info:")
        per_class = card["test"]["per_class"]
        st.dataframe({"class": list(per_class), "accuracy": [f"{v:.1%}" for v in per_class.values()]},
                     hide_index=True, width=320)
    elif model.random_weights:
        st.info("Random weights: predictions are not meaningful.")
    else:
        st.caption(f"Weights: {common.plain(common.weights_label(model))}")
    st.subheader("How SE came alive over training")
    common.training_history(card, art["twin"])
    st.subheader("Where to go next")
    st.page_link(PAGES["lesson"], label="Lesson: the paper in ten steps on this model, with questions to answer first", icon=":material/school:")
    st.page_link(PAGES["inspect"], label="Inspect: a picture's z and s in every block, and channel reweighting", icon=":material/image_search:")
    st.page_link(PAGES["compare"], label="Compare: two pictures, a picture and a class, or SE and its twin", icon=":material/compare:")
    st.page_link(PAGES["patterns"], label="Class patterns: the paper's excitation figure for this model", icon=":material/insights:")
    st.page_link(PAGES["equations"], label="Equations: Eqs. 1-5 step by step with live numbers", icon=":material/function:")
    st.page_link(PAGES["cost"], label="Architecture & cost: parameters, FLOPs and the reduction ratio r", icon=":material/account_tree:")
    st.page_link(PAGES["ablation"], label="Ablation: switch SE off and see what changes", icon=":material/content_cut:")


PAGES = {
    "home": st.Page(home, title="Home", icon=":material/home:", default=True),
    "lesson": st.Page("pages/lesson.py", title="Lesson", icon=":material/school:"),
    "inspect": st.Page("pages/inspect.py", title="Inspect", icon=":material/image_search:"),
    "compare": st.Page("pages/compare.py", title="Compare", icon=":material/compare:"),
    "patterns": st.Page("pages/class_patterns.py", title="Class patterns", icon=":material/insights:"),
    "equations": st.Page("pages/equations.py", title="Equations", icon=":material/function:"),
    "cost": st.Page("pages/architecture.py", title="Architecture & cost", icon=":material/account_tree:"),
    "ablation": st.Page("pages/ablation.py", title="Ablation", icon=":material/content_cut:"),
}

page = st.navigation(list(PAGES.values()))
common.self_check()
common.readable_text()
common.sidebar()
page.run()
