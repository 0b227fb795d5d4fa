"""The answers as the lecturer exports them, and a room's lifetime as people say it."""

from __future__ import annotations

import csv
import io
from collections import Counter

from ..guard import spreadsheet_cell
from ..i18n import _, ngettext


def answers_csv(questions: dict[str, dict], answers: dict[str, Counter], revealed_at: dict[str, float]) -> bytes:
    """The export: ``question, step, prompt, choice, count, measured_answer, revealed_at`` rows (UTC
    ISO time, empty when not revealed), questions in step order. The headers are in the language of
    whoever exports; prompts and choices in the English that identifies a question in the room."""
    from datetime import datetime, timezone

    out = io.StringIO()
    rows = csv.writer(out)
    rows.writerow([_("question"), _("step"), _("prompt"), _("choice"), _("count"), _("measured_answer"), _("revealed_at")])
    for qid in sorted(questions, key=lambda q: (int(q.split(":")[0]), q)):
        text, counts = questions[qid], answers.get(qid, Counter())
        when = revealed_at.get(qid)
        stamp = datetime.fromtimestamp(when, timezone.utc).isoformat(timespec="seconds") if when else ""
        right = text["choices"][text["answer"]] if 0 <= text["answer"] < len(text["choices"]) else ""
        for i, choice in enumerate(text["choices"]):
            rows.writerow([spreadsheet_cell(v) for v in (qid, int(qid.split(":")[0]) + 1, text["prompt"], choice,
                                                          counts.get(i, 0), right, stamp)])
    return out.getvalue().encode()


def duration(seconds: float) -> str:
    """A room's lifetime as people say it: '4 hours', '1 hour', '30 minutes', '45 seconds'."""
    if seconds >= 3600 and seconds % 1800 == 0:
        hours = seconds / 3600
        return ngettext("{n:g} hour", "{n:g} hours", 1 if hours == 1 else 2, n=hours)
    if seconds >= 60:
        return ngettext("{n} minute", "{n} minutes", round(seconds / 60), n=round(seconds / 60))
    return ngettext("{n} second", "{n} seconds", round(seconds), n=round(seconds))


