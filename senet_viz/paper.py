"""The paper's published numbers the app sets beside measured ones (Hu et al., TPAMI 2019), as data."""

from __future__ import annotations

#: Table 10 (ImageNet, SE-ResNet-50, the longer ablation schedule): reduction ratio r ->
#: (top-1 error %, top-5 error %, parameters in millions).
TABLE_10: dict[int, tuple[float, float, float]] = {
    2: (22.29, 6.00, 45.7), 4: (22.25, 6.09, 35.7), 8: (22.26, 5.99, 30.7), 16: (22.28, 6.03, 28.1), 32: (22.72, 6.20, 26.9),
}
