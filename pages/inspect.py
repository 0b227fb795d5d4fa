"""Inspect: a picture's prediction, its excitation in every block, and channel reweighting."""

from __future__ import annotations

import numpy as np
import streamlit as st

from senet_viz import narrative, plots
from senet_viz.capture import capture
from senet_viz.data import CIFAR10_CLASSES
from senet_viz.i18n import _
from senet_viz.images import model_view
from ui import common


@st.cache_data(max_entries=8, show_spinner=_("Capturing every uploaded picture…"))
def batch_csv(_model, key, digests: tuple[str, ...], _files) -> bytes | None:
    """z and s of all uploaded pictures in one CSV (None when one of them cannot be read)."""
    pictures = [common.decode(f.getvalue(), f.name)[0] for f in _files]
    if any(p is None for p in pictures):
        return None
    return capture(_model, pictures).csv([f"{i + 1}. {f.name}" for i, f in enumerate(_files)])


st.title(_("Inspect a picture"))
model = common.active_model()
if not common.need_se_blocks(model):
    st.stop()

common.link_note()
cifar_model = model.class_names == list(CIFAR10_CLASSES)
gallery_tab, upload_tab, camera_tab = st.tabs([_("Gallery"), _("Upload"), _("Camera")])
with gallery_tab:
    choice = common.gallery_picker("inspect", st.query_params.get("picture"), cifar_model, on_pick=common.use_gallery_picture)
    if cifar_model:
        st.caption(_("{model} knows only the 10 CIFAR-10 classes: a picture of anything else (coffee, a rocket, an "
                     "astronaut) still gets one of them, so its top class is wrong by construction.", model=model.name))
    if st.button(_("Show this picture again"), key="use_gallery") or common.current_picture() is None:
        common.use_gallery_picture(choice)
with upload_tab:
    files = st.file_uploader(_("Pictures (JPEG, PNG, GIF, BMP, TIFF, WebP)"), accept_multiple_files=True, key="uploads",
                             type=["jpg", "jpeg", "png", "gif", "bmp", "tif", "tiff", "webp"])
    if files:
        # numbered: two uploads with the same file name stay two pictures
        labels = [f"{i + 1}. {f.name}" for i, f in enumerate(files)]
        pick = st.selectbox(_("Show"), range(len(files)), format_func=lambda i: labels[i], key="upload_pick")
        pick = min(pick, len(files) - 1)
        common.set_picture(labels[pick], files[pick].getvalue(), source="upload")
    elif st.session_state.get("picture_source") == "upload":  # the uploads were removed
        common.use_gallery_picture(choice)
with camera_tab:
    # Drawn only when asked for: a camera widget asks the browser for the camera as soon as it is on
    # the page (every student's screen) and took 30-60 ms of the browser's main thread on every redraw.
    shot = st.camera_input(_("Take a picture"), key="camera") if st.toggle(_("Turn the camera on"), key="camera_on") else None
    if shot is not None:
        common.set_picture("camera", shot.getvalue(), source="camera")
    elif st.session_state.get("picture_source") == "camera":
        common.use_gallery_picture(choice)

name, data = common.picture_or_default()
block = common.block_picker(model, _("Block for the detailed views"))
picture, cap = common.capture_picture(model, name, data, maps=(block,))
if cap is None:
    st.stop()

stats = common.matching_stats(model)
health = {h.name: h for h in stats.health()} if stats is not None else {}
left, middle, right = st.columns([2, 1, 3])
with left:
    st.image(picture, caption=common.plain(name), width="stretch", alt=_("The picture: {name}", name=name))
with middle:
    st.image(model_view(model.preprocess, picture), caption=_("what the model sees"), width="stretch",
             alt=_("{name} as the model sees it, {h} by {w} pixels", name=name, h=model.input_size[1], w=model.input_size[2]))
    st.caption(_("{w}×{h} → model input {mh}×{mw} (resized, centre-cropped; normalisation undone for display)",
                 w=picture.width, h=picture.height, mh=model.input_size[1], mw=model.input_size[2]))
with right:
    st.subheader(_("Prediction (top 5)"))
    top = cap.top(5)[0]
    st.metric(_("Predicted class"), top[0][0], f"{top[0][1]:.1%}", delta_color="off")
    common.top_table(top, width=None)

st.subheader(_("Excitation fingerprint"))
spread_note = ""
if health:
    most = max(health.values(), key=lambda h: h.s_std)
    least = min(health.values(), key=lambda h: h.s_std)
    spread_note = " " + _("Over {n:,} pictures, s varies most from picture to picture in {most} (std {most_std:.3f}) and "
                          "least in {least} (std {least_std:.3f}).", n=stats.total, most=most.name, most_std=most.s_std,
                          least=least.name, least_std=least.s_std)
st.caption(_("s of every channel (columns) in every SE block (rows) for this picture.") + spread_note)
fig = plots.fingerprint(cap.fingerprint(), cap.block_names)
common.draw(fig)

pred = int(cap.predicted()[0])
reference = None
if stats is not None and model.class_names[pred] in stats.class_names:
    reference = stats.excitation_mean(block)[stats.class_names.index(model.class_names[pred])]
s = cap.excitation[block][0]


@st.fragment
def block_views() -> None:
    """z and s of the block, and s against its class: the sort toggle redraws this part only."""
    st.subheader(_("z and s in {block}", block=block))
    if block in health and not health[block].healthy:
        st.warning(_("{block} {state}, measured on {n:,} pictures.", block=block, state=health[block].describe(),
                     n=stats.total), icon=":material/horizontal_rule:")
    sort = st.toggle(_("Sort channels by value"), key="sort_bars")
    c1, c2 = st.columns(2)
    common.draw(plots.vector_bars(cap.squeeze[block][0], _("squeeze z ({block})", block=block), sort=sort,
                                  value_name="z"), where=c1)
    common.draw(plots.vector_bars(cap.excitation[block][0], _("excitation s ({block})", block=block), sort=sort,
                                  reference=reference, value_name="s"), where=c2)
    z, s_block = cap.squeeze[block][0], cap.excitation[block][0]
    st.caption(_("One bar per channel of {block}: z from {z_low:.3f} to {z_high:.3f} (left), s from {s_low:.3f} to "
                 "{s_high:.3f} (right).", block=block, z_low=z.min(), z_high=z.max(), s_low=s_block.min(),
                 s_high=s_block.max()) + (" " + _("The line is the predicted class's mean s.") if reference is not None
                                          else ""))

    st.subheader(_("Against the class"))
    if reference is None:
        st.info(_("No statistics of these weights: compute them on the Class patterns page to compare with a class mean."))
    else:
        k_pred = stats.class_names.index(model.class_names[pred])
        cls = model.class_names[pred]
        common.draw(plots.band_bars(s, reference, stats.excitation_std(block)[k_pred],
                                    _("s against class '{cls}' ({block})", cls=cls, block=block)))
        diff = s - reference
        common.draw(plots.vector_bars(diff, _("s − mean s of '{cls}' ({block})", cls=cls, block=block), sort=sort,
                                      value_name=_("difference")))
        st.caption(common.plain(_("Largest |difference| {value:.3f}.", value=np.abs(diff).max()) + " " +
                                narrative.class_typicality(s, reference, stats.excitation_std(block)[k_pred], cls)))



@st.fragment
def reweighting() -> None:
    """The most and least excited channels' maps: the slider redraws this part only."""
    st.subheader(_("Channel reweighting"))
    k = st.slider(_("Channels at each end"), 1, 4, 3, key="n_channels")
    order = np.argsort(-s)
    channels = list(dict.fromkeys([*order[:k].tolist(), *order[-k:].tolist()]))
    u, scaled = cap.inputs[block][0], cap.outputs[block][0]
    common.draw(plots.channel_maps(u[channels], scaled[channels], channels, s))
    spread = float(s.max() - s.min())
    fade = (_("Weakly excited channels fade.") if spread >= 0.2 else
            _("Here s only ranges from {low:.2f} to {high:.2f}: the scale multiplies every map by nearly the same factor, "
              "so no channel fades against the others.", low=s.min(), high=s.max()))
    st.caption(_("Top row: feature maps u_c of the {k} most excited and {k} least excited channels of {block}; bottom row: "
                 "the same maps after the scale, s_c · u_c, on the same colour scale.", k=k, block=block) + " " + fade)



block_views()
reweighting()

st.subheader(_("Downloads"))
d1, d2, d3 = st.columns(3)
# Files are made only when a button is pressed (callables), never on every rerun.
d1.download_button(_("z and s (CSV)"), lambda: cap.csv([name]), file_name="excitation.csv", mime="text/csv", on_click="ignore")
d2.download_button(_("z, s and logits (NPZ)"), lambda: cap.npz([name]), file_name="excitation.npz",
                   mime="application/octet-stream", on_click="ignore")
d3.download_button(_("Fingerprint figure (PNG)"), common.spoken(lambda: plots.fingerprint_static(cap.fingerprint(),
                                                                                               cap.block_names)),
                   file_name="fingerprint.png", mime="image/png", on_click="ignore")
if files and len(files) > 1:
    data_all = batch_csv(model, common.model_key(model), tuple(common.picture_hash(f.getvalue()) for f in files), files)
    if data_all is None:
        st.caption(_("A picture among the uploads cannot be read, so there is no batch export."))
    else:
        st.download_button(_("z and s of all {n} uploaded pictures (CSV, one row per picture, block and channel)",
                             n=len(files)),
                           data_all, file_name="excitation-batch.csv", mime="text/csv", on_click="ignore")
st.caption(_("The channel maps' camera button saves them as PNG; z and s of every block are in the files above."))
