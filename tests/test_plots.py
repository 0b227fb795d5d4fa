import numpy as np
import plotly.graph_objects as go
import pytest
import torch

from senet_viz import plots
from senet_viz.stats import Accumulator

BLOCKS = {"SE_2_1": 16, "SE_2_2": 16, "SE_3_1": 32, "SE_3_2": 32, "SE_4_1": 64, "SE_4_2": 64}


def _stats(k: int):
    rng = np.random.default_rng(k)
    acc = Accumulator(BLOCKS, k)
    n = max(2 * k, 8)
    y = torch.from_numpy(np.arange(n) % k)
    s = {b: torch.from_numpy(rng.uniform(0, 1, (n, c))) for b, c in BLOCKS.items()}
    acc.add(y, s, s)
    return acc.result([f"class {i}" for i in range(k)])


def test_default_blocks_follow_the_paper():
    names = ["SE_2_1", "SE_2_2", "SE_2_3", "SE_3_1", "SE_3_4", "SE_4_6", "SE_5_1", "SE_5_2", "SE_5_3"]
    assert plots.default_blocks(names) == ["SE_2_3", "SE_3_4", "SE_4_6", "SE_5_1", "SE_5_2", "SE_5_3"]


def test_channel_subsets():
    assert len(plots.channel_subset(64, "all")) == 64
    assert list(plots.channel_subset(64, "first", 5)) == [0, 1, 2, 3, 4]
    sample = plots.channel_subset(2048, "sample", 50)
    assert len(sample) == 50 and sample[0] == 0 and sample[-1] == 2047
    with pytest.raises(ValueError):
        plots.channel_subset(10, "odd", 3)


@pytest.mark.parametrize("k", [1, 10, 1000])
def test_figures_build_for_any_number_of_classes(k):
    st = _stats(k)
    classes = st.class_names[: min(k, 4)]
    fig = plots.excitation_figure(st, classes=classes, subset="sample", n=20)
    blocks = plots.default_blocks(st.blocks)
    lines = fig.data.groupby(["block", "class"]).size()
    assert len(lines) == len(blocks) * (len(classes) + 1)  # every class and the mean in every block
    assert all(count == min(20, BLOCKS[block]) for (block, _), count in lines.items())  # 20 channels sampled where there are more
    one = fig.data.query(f"block == '{blocks[-1]}' and `class` == '{classes[0]}'")
    np.testing.assert_array_equal(one["s"], st.excitation_mean(blocks[-1])[0, one["channel"]])
    band = plots.class_band(st, "SE_3_1", classes[0])
    np.testing.assert_allclose(band.data["high"] - band.data["low"], 2 * st.excitation_std("SE_3_1")[0], rtol=1e-6)
    assert len(plots.depth_profile(st).data) == 5
    heat = plots.similarity_heatmap(st, "SE_4_2")
    assert len(heat.data) == k * k and heat.data["r"].to_numpy().reshape(k, k).tolist() == st.similarity("SE_4_2").tolist()
    dist = plots.distribution(st, "SE_2_1", classes)
    assert dist.data.groupby("class")["share"].sum().round(6).isin([0.0, 1.0]).all()  # each a share of its pictures
    assert set(dist.data["class"]) == {*classes, "all classes"}


@pytest.mark.parametrize("fmt,magic", [("png", b"\x89PNG"), ("svg", b"<?xml"), ("pdf", b"%PDF")])
def test_static_export(fmt, magic):
    data = plots.excitation_static(_stats(4), fmt=fmt)
    assert data.startswith(magic) and len(data) > 1000


def test_picture_views():
    m = np.random.default_rng(0).uniform(0, 1, (3, 8))
    m[2, 6:] = np.nan  # a narrower block, padded
    fp = plots.fingerprint(m, ["a", "b", "c"])
    assert len(fp.data) == 22 and not fp.data["s"].isna().any()  # the padding is not drawn
    assert fp.data.query("block == 'b' and channel == 5")["s"].item() == m[1, 5]
    assert fp.spec["encoding"]["y"]["sort"] == ["a", "b", "c"]  # blocks in network order, not alphabetical
    bars = plots.vector_bars(m[0], "s", sort=True, reference=m[1])
    assert list(bars.data["value"]) == sorted(m[0], reverse=True)
    np.testing.assert_array_equal(m[0][bars.data["channel"]], bars.data["value"])  # each bar names its channel
    np.testing.assert_array_equal(m[1][bars.data["channel"]], bars.data["reference"])  # the reference follows
    band = plots.band_bars(m[0], m[1], np.full(8, 0.1))
    np.testing.assert_allclose(band.data["high"] - band.data["low"], 0.2)
    before = np.arange(32, dtype=float).reshape(2, 4, 4)
    maps = plots.channel_maps(before, before * 0.5, [3, 5], np.linspace(0, 1, 8))
    z, where = np.asarray(maps.data[0].z, dtype=float), np.asarray(maps.data[0].customdata)
    assert len(maps.data) == 1 and maps.data[0].zmax == -maps.data[0].zmin == 31  # one colour scale, centred at 0
    np.testing.assert_array_equal(z[0:4, 0:4], before[0])  # u_3, top left
    np.testing.assert_array_equal(z[5:9, 5:9], before[1] * 0.5)  # s_5 * u_5, bottom right, after the gaps
    assert np.isnan(z[4]).all() and np.isnan(z[:, 4]).all()
    assert tuple(where[6, 7]) == (5, 1, 2)  # hover names the channel and the map's own coordinates
    assert list(maps.layout.xaxis.ticktext) == ["channel 3, s = 0.43", "channel 5, s = 0.71"]
    assert list(maps.layout.yaxis.ticktext) == ["u_c", "s_c · u_c"]
    assert isinstance(plots.se_block_diagram(64, 4), go.Figure)
    assert plots.fingerprint_static(np.where(m > 0.9, np.nan, m), ["a", "b", "c"]).startswith(b"\x89PNG")
    assert isinstance(plots.module_diagram("inception"), go.Figure)



def test_the_excitation_flow_draws_every_quantity_of_eq_3():
    rng = np.random.default_rng(2)
    z, w1, w2 = rng.normal(size=16), rng.normal(size=(4, 16)), rng.normal(size=(16, 4))
    a = w1 @ z + 0.1
    hidden = np.maximum(a, 0)
    b = w2 @ hidden - 0.2
    s = 1 / (1 + np.exp(-b))
    fig = plots.excitation_flow(z, w1, a, hidden, w2, b, s)
    assert [t.name for t in fig.data] == ["z", "W1 (4×16)", "W1 z + b1", "δ = ReLU", "W2 (16×4)", "W2 δ + b2", "s = Sigmoid(·)"]
    for trace, values in zip(fig.data, [z[:, None], w1, a[:, None], hidden[:, None], w2, b[:, None], s[:, None]]):
        np.testing.assert_array_equal(np.asarray(trace.z), values)
    assert fig.data[-1].colorscale[0][1] != fig.data[0].colorscale[0][1]  # s sequential, the others diverging
    assert fig.data[1].zmin == -fig.data[1].zmax  # centred at 0
    domains = [fig.layout[f"xaxis{'' if i == 0 else i + 1}"].domain for i in range(7)]
    assert all(0 <= lo < hi <= 1 for lo, hi in domains) and all(d[1] < e[0] for d, e in zip(domains, domains[1:]))
    wide = plots.excitation_flow(np.ones(300), np.ones((20, 300)), np.ones(20), np.ones(20), np.ones((300, 20)), np.ones(300),
                                 np.full(300, 0.5), limit=64)
    assert wide.data[0].name == "z (first 64 of 300)" and np.asarray(wide.data[1].z).shape == (20, 64)


def test_a_shared_figure_is_sent_as_the_figure_itself_would_be_and_its_dict_made_once():
    import json

    import plotly.io as pio
    import plotly.tools

    from ui.base import SentFigure

    fig = plots.pair_lines(np.linspace(0.0, 1.0, 16), np.linspace(1.0, 0.0, 16), ("A", "B"), [3, 7], "s")  # numpy arrays
    sent = SentFigure(fig)
    # what st.plotly_chart does with a figure: its dict, then that dict as JSON
    as_streamlit = plotly.tools.return_figure_from_figure_or_data(sent, validate_figure=True)
    assert as_streamlit is sent.to_dict()  # no copy per draw
    assert json.loads(pio.to_json(as_streamlit, validate=False)) == json.loads(pio.to_json(fig, validate=False))
