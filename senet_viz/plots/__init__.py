"""Figure builders. Each returns a Plotly figure, a Vega-Lite ``Chart`` (the per-picture views a
click redraws), or for the static export the bytes of a matplotlib drawing, and never touches
Streamlit or pyplot's global state. One module per subject; everything is re-exported here
(``plots.excitation_figure``).
"""

from .bars import (
    ablation_bars,
    answer_counts,
    prediction_bars,
    se_params_at_r,
    se_params_by_stage,
    stage_off_bars,
    twin_accuracy,
)
from .base import MEAN_COLOUR, PALETTE, Chart, channel_subset, default_blocks, label
from .classes import (
    class_band,
    depth_profile,
    distribution,
    excitation_figure,
    excitation_matplotlib,
    excitation_static,
    similarity_heatmap,
)
from .compare import band_bars, comparison_static, divergence_chart, pair_lines
from .diagrams import module_diagram, se_block_diagram
from .equations import excitation_flow
from .film import film_figure, frame_label, specificity_figure
from .picture import channel_maps, feature_map, fingerprint, fingerprint_static, vector_bars
from .training import training_health, training_loss

__all__ = [
    "specificity_figure",
    "frame_label",
    "film_figure",
    "twin_accuracy",
    "stage_off_bars",
    "se_params_by_stage",
    "se_params_at_r",
    "prediction_bars",
    "answer_counts",
    "ablation_bars",
    "Chart",
    "MEAN_COLOUR",
    "PALETTE",
    "band_bars",
    "channel_maps",
    "channel_subset",
    "class_band",
    "comparison_static",
    "default_blocks",
    "depth_profile",
    "distribution",
    "divergence_chart",
    "excitation_figure",
    "excitation_flow",
    "excitation_matplotlib",
    "excitation_static",
    "feature_map",
    "fingerprint",
    "fingerprint_static",
    "label",
    "module_diagram",
    "pair_lines",
    "se_block_diagram",
    "similarity_heatmap",
    "training_health",
    "training_loss",
    "vector_bars",
]
