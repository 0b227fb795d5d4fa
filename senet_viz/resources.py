"""Where the app's files and the shipped assets are: the same answer from a checkout and from an
installed wheel.

In a checkout, ``app.py``, ``pages/`` and ``assets/`` lie beside the package (the layout the
project keeps). A wheel maps them into the package at build time (``pyproject.toml``):
``senet_viz/_app/`` (``app.py``, ``pages/``, ``.streamlit/config.toml``) and
``senet_viz/_assets/`` (weights and cards, statistics, ablation, films, the offline gallery).
"""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def assets() -> Path:
    """The shipped assets: the wheel's copy where installed, else the checkout's ``assets/``."""
    bundled = PACKAGE / "_assets"
    return bundled if bundled.is_dir() else PACKAGE.parent / "assets"


def app_dir() -> Path:
    """The folder holding ``app.py`` and ``pages/``."""
    bundled = PACKAGE / "_app"
    return bundled if (bundled / "app.py").is_file() else PACKAGE.parent


def streamlit_options() -> list[str]:
    """The app's own Streamlit settings (``.streamlit/config.toml`` beside ``app.py``) as command-line
    options, so the app runs with them from any folder (Streamlit reads that file only from the
    working folder); options given after them win."""
    try:
        from tomllib import loads
    except ImportError:  # Python 3.10: the toml package Streamlit depends on
        from toml import loads

    config = app_dir() / ".streamlit" / "config.toml"
    if not config.is_file():
        return []
    options = []
    for section, values in loads(config.read_text()).items():
        for key, value in values.items():
            text = str(value).lower() if isinstance(value, bool) else str(value)
            options.append(f"--{section}.{key}={text}")
    return options
