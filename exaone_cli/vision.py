"""What a page costs the model: Qwen2-VL's resize rule and the visual tokens it yields, as pure math.

EXAONE 4.5's processor uses the Qwen2-VL image processor: it resizes every image to multiples of
28 px (14 px patches, 2x2 merge) inside a pixel budget, and each 28x28 block becomes one visual
token. Knowing the count without importing transformers lets `--dry-run` plans, batching and
token limits work in milliseconds. tests/test_pages.py checks it against transformers' own code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .errors import InputError

PATCH_SIZE = 14
MERGE_SIZE = 2
FACTOR = PATCH_SIZE * MERGE_SIZE  # 28: one visual token per FACTOR x FACTOR pixels
DEFAULT_MIN_PIXELS = 4 * FACTOR * FACTOR
# 5120 tokens' worth: an A4 page at 200 DPI (1654 x 2339 px) only snaps to the 28-px grid.
DEFAULT_MAX_PIXELS = 5120 * FACTOR * FACTOR
MAX_ASPECT_RATIO = 200


def smart_resize(
    height: int,
    width: int,
    factor: int = FACTOR,
    min_pixels: int = DEFAULT_MIN_PIXELS,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> tuple[int, int]:
    """(height, width) as the Qwen2-VL image processor resizes them: both multiples of `factor`,
    the area within [min_pixels, max_pixels], the aspect ratio kept as closely as that allows.

    A line-for-line copy of transformers' `smart_resize` (models/qwen2_vl), including Python's
    round-half-to-even; an aspect ratio over 200:1 is an InputError instead of a ValueError."""
    if height < 1 or width < 1:
        raise InputError(f"the image is {width}x{height} px: it has no pixels to read")
    if max(height, width) / min(height, width) > MAX_ASPECT_RATIO:
        ratio = max(height, width) / min(height, width)
        raise InputError(
            f"the image is {width}x{height} px, an aspect ratio of {ratio:.0f}:1; the model takes at most 200:1",
            hint="crop or split the image",
        )
    h_bar = round(height / factor) * factor
    w_bar = round(width / factor) * factor
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


@dataclass(frozen=True)
class VisualBudget:
    """One image as the model sees it: the resized size, the patch grid (t, h, w) and the tokens."""

    width: int
    height: int
    grid: tuple[int, int, int]
    tokens: int

    @property
    def patches(self) -> int:
        return self.grid[0] * self.grid[1] * self.grid[2]


def visual_tokens(
    width: int,
    height: int,
    min_pixels: int = DEFAULT_MIN_PIXELS,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    patch_size: int = PATCH_SIZE,
    merge_size: int = MERGE_SIZE,
) -> VisualBudget:
    """The visual tokens a `width` x `height` image costs (each one ~2 x 33.8 GFLOPs of prefill and
    256 KiB of KV cache): image_grid_thw.prod() // merge_size**2, as the processor counts them."""
    resized_height, resized_width = smart_resize(height, width, patch_size * merge_size, min_pixels, max_pixels)
    grid = (1, resized_height // patch_size, resized_width // patch_size)
    return VisualBudget(resized_width, resized_height, grid, grid[1] * grid[2] // merge_size**2)
