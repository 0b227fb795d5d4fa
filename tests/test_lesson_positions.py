"""Over the shipped gallery, the right choice of the Lesson's questions sits anywhere: for every
step, picture and SE block the Lesson asks about, the position of the right choice is counted."""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict

import numpy as np
import pytest
from conftest import ROOT

from senet_viz import artefacts, gallery, lesson
from senet_viz.capture import capture
from senet_viz.cost import cost
from senet_viz.equations import squeeze_kind
from senet_viz.images import load_image

#: Four choices, four positions: a fair draw puts 25% in each. Over the ~2,700 questions counted
#: here (900 of each per-picture kind) a position above 40% is no longer chance: a layout that gives
#: answers away.
MOST = 0.40


@pytest.fixture(scope="module")
def shipped_questions():
    from senet_viz.models import load_model

    model = load_model("se_resnet20_cifar10", device="cpu")
    keys = [k for k in gallery.keys() if k.startswith("cifar-") and k.count("-") == 2]
    assert len(keys) == 100
    pictures = [load_image(gallery.picture_bytes(k)) for k in keys]
    names = [b.name for b in model.blocks]
    cap = capture(model, pictures, maps=names)
    questions: dict[str, list[lesson.Question]] = defaultdict(list)
    hashes = [hashlib.sha256(gallery.picture_bytes(k)).hexdigest() for k in keys]  # as the page salts the order
    for b in model.blocks:
        for i in range(len(keys)):
            questions["gate_length"].append(
                lesson.gate_length(b.name, b.channels, b.hidden, b.resolution[0] * b.resolution[1], hashes[i]))
            z, s, u = cap.squeeze[b.name][i], cap.excitation[b.name][i], cap.inputs[b.name][i]
            c = lesson.squeeze_channel(z)
            questions["squeeze_value"].append(lesson.squeeze_value(u[c], c, squeeze_kind(b)))
            questions["damped_channels"].append(lesson.damped_channels(s, b.name, b.gate_name))
    ablation = json.loads((ROOT / "assets" / "ablation" / "se_resnet20_cifar10-cifar10-test.json").read_text())
    questions["ablation_drop"] += [lesson.ablation_drop(ablation, k.removeprefix("off: "))
                                   for k in ablation["top1"] if k.startswith("off: ")]
    questions["se_parameter_share"] += [lesson.se_parameter_share(cost(model, float(r)), last)
                                        for r in (4, 8, 16, 32) for last in (False, True)]
    stats = artefacts.shipped_stats(model).value
    assert stats is not None, "the shipped statistics must match the shipped weights"
    for i, key in enumerate(keys):  # each picture against the same-numbered picture of the next class
        j = (i + 10) % len(keys)
        for b in names:
            questions["closer_to_class"].append(lesson.closer_to_class(
                stats, b, [gallery.true_class(key), gallery.true_class(keys[j])],
                {"A": cap.excitation[b][i], "B": cap.excitation[b][j]}))
    return questions


def test_no_position_holds_the_right_answer_of_a_four_choice_question_too_often(shipped_questions):
    table = {}
    everything = Counter()
    for kind, qs in shipped_questions.items():
        four = [q for q in qs if len(q.choices) == 4]
        if four:
            table[kind] = Counter(q.answer for q in four)
            everything.update(table[kind])
    print(f"\n{'question':20} {'n':>5}  " + "  ".join(f"pos {p}" for p in range(4)))
    for kind, counts in [*table.items(), ("all", everything)]:
        n = sum(counts.values())
        print(f"{kind:20} {n:5d}  " + "  ".join(f"{counts[p] / n:5.0%}" for p in range(4)))
    n = sum(everything.values())
    assert n > 1000 and max(everything.values()) / n <= MOST
    for kind in ("gate_length", "squeeze_value", "damped_channels"):  # the per-picture questions, each on its own
        counts = table[kind]
        assert max(counts.values()) / sum(counts.values()) <= MOST, (kind, counts)


def test_either_picture_of_a_pair_can_be_the_right_one(shipped_questions):
    counts = Counter(q.choices[q.answer] for q in shipped_questions["closer_to_class"])
    print("\ncloser_to_class:", dict(counts))
    # the class asked about is drawn from both pictures: about half each (A's own class alone: 70% A here)
    assert min(counts["A"], counts["B"]) / sum(counts.values()) >= 0.40


def test_the_order_is_the_same_for_everyone_who_sees_the_question():
    u = np.arange(20, dtype=float).reshape(4, 5) - 7.3
    first = lesson.squeeze_value(u, 3)
    assert lesson.squeeze_value(u.copy(), 3) == first  # a room's students and lecturer, a link opened again
    moved = [lesson.squeeze_value(u + k, 3).answer for k in range(12)]
    assert len(set(moved)) > 1  # another map, another draw
