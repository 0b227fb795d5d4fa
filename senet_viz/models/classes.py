"""Class names for a network: given by the user, carried by its weights file, or the defaults.

Where the names come from, first found wins:
1. ``classes`` given by the caller: a list, a comma-separated string, or a text file (one name
   a line) or JSON file (a list, or an object with ``class_names``, ``classes`` or ``labels``);
2. the weights file's safetensors metadata: key ``class_names``, ``classes`` or ``labels``,
   a JSON list or a comma-separated string;
3. a file beside the weights: ``<stem>.labels.txt``, ``<stem>.labels.json``, ``labels.txt``
   or ``labels.json``;
4. the family's own names where the class count is theirs (CIFAR-10's ten, ImageNet's 1,000),
   else ``class 0``, ``class 1``, ...
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

from ..errors import ClassNamesError
from ..i18n import _

KEYS = ("class_names", "classes", "labels")
#: Longer names are refused: a class name is a label on a chart, not a document.
MAX_NAME = 200


def _parse(text: str, origin: str) -> list[str]:
    text = text.strip()
    if text.startswith(("[", "{")):
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ClassNamesError(_("{origin}: not valid JSON ({error}, line {line})", origin=origin, error=exc.msg,
                                    line=exc.lineno)) from None
        if isinstance(obj, dict):
            obj = next((obj[k] for k in KEYS if k in obj), None)
        if not isinstance(obj, list) or not all(isinstance(n, str | int) for n in obj):
            raise ClassNamesError(_("{origin}: expected a list of class names", origin=origin))
        names = [str(n) for n in obj]
    elif "\n" in text:
        names = [line.strip() for line in text.splitlines() if line.strip()]
    else:
        names = [n.strip() for n in text.split(",")]
    if not names or any(not n for n in names):
        raise ClassNamesError(_("{origin}: an empty class name", origin=origin))
    if any(len(n) > MAX_NAME for n in names):
        raise ClassNamesError(_("{origin}: a class name longer than {n} characters", origin=origin, n=MAX_NAME))
    return names


def names_from_text(text: str, origin: str) -> list[str]:
    """Names written as text, never read as a path: a JSON list (or object with ``class_names``,
    ``classes`` or ``labels``), one name a line, or comma-separated (what a browser sends)."""
    return _parse(str(text), origin)


def read_names(classes: str | Path | Sequence[str]) -> list[str]:
    """Names from a list, a comma-separated string, or a .txt / .json file (a path: the command
    line's and the Python interface's; the app passes ``names_from_text``'s list)."""
    if isinstance(classes, Path) or (isinstance(classes, str) and (
            Path(classes).suffix in (".txt", ".json") or "," not in classes and Path(classes).is_file())):
        path = Path(classes)
        if not path.is_file():
            raise ClassNamesError(f"{path}: no such class names file")
        try:
            return _parse(path.read_text(encoding="utf-8"), path.name)
        except UnicodeDecodeError:
            raise ClassNamesError(f"{path.name}: not a text file") from None
    if isinstance(classes, str):
        return _parse(classes, "class names")
    names = [str(n).strip() for n in classes]
    return _parse(json.dumps(names), "class names")


def names_in_weights(path: str | Path) -> list[str] | None:
    """Names carried by a weights file: its safetensors metadata or a labels file beside it."""
    path = Path(path)
    if path.suffix == ".safetensors":
        from safetensors import safe_open

        try:
            with safe_open(str(path), framework="pt") as f:
                meta = f.metadata() or {}
        except Exception:  # noqa: BLE001 - a damaged file is reported when its tensors are read
            meta = {}
        for key in KEYS:
            if key in meta:
                return _parse(meta[key], f"{path.name} metadata '{key}'")
    for beside in (f"{path.stem}.labels.txt", f"{path.stem}.labels.json", "labels.txt", "labels.json"):
        if (path.parent / beside).is_file():
            return read_names(path.parent / beside)
    return None


def generic(count: int) -> list[str]:
    return [f"class {i}" for i in range(count)]


def class_names(count: int, *, given: str | Path | Sequence[str] | None, weights: str | Path | None,
                default: Callable[[int], list[str]] = generic) -> list[str]:
    """The ``count`` class names of a network (see the module's order); a list of the wrong
    length is one clear error naming where it came from."""
    names, origin = None, ""
    if given is not None:
        names, origin = read_names(given), _("class names given")
    elif weights is not None:
        names, origin = names_in_weights(weights), _("class names of {file}", file=Path(weights).name)
    if names is None:
        return default(count)
    if len(names) != count:
        raise ClassNamesError(_("{n} {origin}, but the network has {count} classes", n=len(names), origin=origin,
                                count=count))
    if len(set(names)) != len(names):
        raise ClassNamesError(_("{origin}: a name occurs twice", origin=origin))
    return names
