"""Where each page's text comes from, under `exaone ocr --text-layer off|fallback|hint|prefer`
(names kept stable for scripts and docs):

- `fallback` (the default): every page goes to the model; a good text layer stands in only when
  the model fails a page on every try (retries.py);
- `prefer`: a page whose layer is complete (TextLayer.complete: good, nothing hidden left out,
  images under a fifth of the page, no form values or annotations with words) is taken from the
  layer, with no model call (no model is loaded when every page is such a page); the rest go to
  the model, which sees only what the page draws;
- `hint`: a good layer goes into the prompt as a reference for exact characters (olmOCR's
  "document anchoring"); the model still transcribes the image;
- `off`: the layer is never read.
"""

from __future__ import annotations

from typing import Literal

from ..errors import UsageError
from ..pages.text_layer import TextLayer
from ..prompts import template

TextLayerMode = Literal["off", "fallback", "hint", "prefer"]
TEXT_LAYER_MODES: tuple[TextLayerMode, ...] = ("off", "fallback", "hint", "prefer")
DEFAULT_TEXT_LAYER_MODE: TextLayerMode = "fallback"
TEXT_LAYER_HELP = (
    "The PDF's own text layer, judged per page (good, garbled, invisible, none). MODE: fallback = every page to "
    "the model, a good layer stands in when the model fails; prefer = good pages without large pictures are taken "
    "from the layer, no model call; hint = the good layer goes into the prompt for exact characters; off = never read."
)


def text_layer_mode(value: str) -> TextLayerMode:
    """A --text-layer value, checked."""
    for mode in TEXT_LAYER_MODES:
        if value == mode:
            return mode
    raise UsageError(f"unknown --text-layer {value!r}", hint=f"use one of: {', '.join(TEXT_LAYER_MODES)}")


def takes_layer(mode: TextLayerMode, layer: TextLayer | None) -> bool:
    """Whether the page's text is taken from its layer without asking the model: under prefer,
    when the layer is complete (good, and nothing the page shows is missing from it or hidden in it)."""
    return mode == "prefer" and layer is not None and layer.complete


def layer_note(mode: TextLayerMode, layer: TextLayer | None) -> str | None:
    """Why a good layer was not taken under prefer (hidden text, pictures, form values), for the
    page's record."""
    if mode != "prefer" or layer is None or not layer.good or layer.complete:
        return None
    return f"text layer good but not used: {layer.reason}"


def page_prompt(prompt: str, mode: TextLayerMode, layer: TextLayer | None) -> str:
    """The prompt for one page: `prompt`, plus the good layer's text as a reference under `hint`."""
    if mode != "hint" or layer is None or not layer.good:
        return prompt
    return template("ocr.hint").format(prompt=prompt, text=layer.text)
