"""A page's second chances: which page records deserve another try, the sampling of each retry,
and what stands in when every try failed (the page's own text layer, when it is good).

The idea is olmOCR's (allenai/olmocr: a failed page is generated again at a rising temperature,
then falls back to the PDF's text); the ladder and the count are exaone's own, sized for a 33B
model where each try costs seconds of GPU time.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace

from ..config import Sampling
from ..engines.text import replaced_characters
from ..pages.text_layer import TextLayer
from ..results import PageRecord

DEFAULT_PAGE_RETRIES = 2
# Past the third retry the ladder is at temperature 1.0 and stays there: more tries only repeat
# the same draw with new seeds. 10 leaves room for that and keeps a bad page from costing a run
# unbounded GPU time (our own bound).
MAX_PAGE_RETRIES = 10
RETRY_TEMPERATURE_STEP = 0.2  # retry k samples at the run's temperature + 0.2 k ...
RETRY_TEMPERATURE_CAP = 1.0  # ... but no hotter than this (or the run's own temperature, if higher)
RETRY_LADDER_HELP = (
    f"retry k samples at temperature T + {RETRY_TEMPERATURE_STEP:.1f}·k, at most {RETRY_TEMPERATURE_CAP:.1f} (T: the "
    "run's temperature; kept if higher), e.g. 0.6 → 0.8 → 1.0 with the ocr preset (greedy runs sample too), "
    "each with a fresh seed"
)


def retry_reason(record: PageRecord) -> str | None:
    """Why a generated page deserves another try, or None when it is done: an engine or server
    error, a loop the repetition guard stopped, the token limit reached without an end of turn,
    or an empty answer. Decided on the record alone (error, finish_reason, text), so any engine's
    or classifier's verdict on a generation feeds it the same way."""
    if record.error is not None:
        return "error"
    if record.finish_reason in ("repetition", "length"):
        return str(record.finish_reason)
    if not record.text.strip():
        return "empty"
    return None


def retry_sampling(sampling: Sampling, attempt: int, key: str) -> Sampling:
    """The sampling of retry `attempt` (1, 2, ...): a higher temperature (RETRY_LADDER_HELP) and a
    fresh seed, derived from the run's --seed, `key` (the page) and the attempt, so a rerun of
    the same command retries the same way."""
    base = max(sampling.temperature, 0.0)
    temperature = min(base + RETRY_TEMPERATURE_STEP * attempt, max(RETRY_TEMPERATURE_CAP, base))
    digest = hashlib.sha256(f"{sampling.seed}\0{key}\0{attempt}".encode()).digest()
    return replace(sampling, temperature=round(temperature, 6), seed=int.from_bytes(digest[:4], "big") >> 1)


def last_chance(record: PageRecord, layer: TextLayer | None) -> PageRecord:
    """A page after its last try (or one that could not be rendered): unchanged when it succeeded
    or has no good text layer (a garbled layer is never passed off as text); otherwise the layer's
    text stands in, with `text_source: text-layer-fallback` and a note. `finish_reason` and
    `tokens` stay those of the model's last try."""
    reason = retry_reason(record)
    if reason is None or layer is None or not layer.good:
        return record
    if record.attempts == 0:
        failure = "the page could not be made into an image for the model"
    else:
        tries = f"{record.attempts} tries" if record.attempts != 1 else "1 try"
        failure = f"the model failed on this page ({tries}, the last: {reason})"
    note = f"{failure}; the text is the PDF's text layer"
    return replace(
        record,
        text=layer.text,
        reasoning=None,
        boxed=[],
        error=None,
        replaced_characters=replaced_characters(layer.text),  # of the text kept, not the discarded try
        text_source="text-layer-fallback",
        note=f"{record.note}; {note}" if record.note else note,
    )
