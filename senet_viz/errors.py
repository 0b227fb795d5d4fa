"""Errors a user can cause. Each is one readable line for the CLI and the app."""

from __future__ import annotations


class SenetVizError(Exception):
    """Base of every error the CLI prints as one line (exit 2) and the app shows with st.error."""


class ImageError(SenetVizError):
    """A picture that cannot be used: not an image, truncated, too large, unsupported format."""


class UnknownModel(SenetVizError):
    """A model name the registry does not know."""


class WeightsUnavailable(SenetVizError):
    """Weights that cannot be had here: offline without a cache, a missing or unreadable file."""


class DataError(SenetVizError):
    """A labelled picture source that cannot be read: bad folder, bad or hostile archive."""


class BlockNotFound(SenetVizError):
    """A block name that the model does not have."""


class ClassNamesError(SenetVizError):
    """Class names that do not fit the network: the wrong count, an unreadable names file."""
