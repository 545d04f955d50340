"""The Hugging Face Hub before transformers touches it: is the model cached, can the Hub be
reached at all? Asked once, in about a second, so that a machine without a route to the Hub
fails in seconds with one line instead of after minutes of huggingface_hub's retries (five per
file, backing off to 8 s: 2.5 minutes for the processor's files alone).

huggingface_hub does the work: its cache lookup (`try_to_load_from_cache`), its endpoint
(`HF_ENDPOINT`), its offline switch (`HF_HUB_OFFLINE`) and its HTTP session (which honours the
proxy variables). No torch here.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

from ..errors import EngineError, debug_enabled

PROBE_TIMEOUT = 5.0  # seconds for the one request that asks whether the Hub answers at all
OFFLINE_HINT = (
    "check the network or proxy (HTTPS_PROXY); or use a copy you have: set HF_HUB_OFFLINE=1 for models "
    "already in the cache, pass --model PATH for a local folder, or --server URL for a server"
)


def offline() -> bool:
    """HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE) is on: nothing is asked of the Hub."""
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)


def cached(model: str, revision: str | None = None) -> bool:
    """The model's config.json is in the local Hugging Face cache (for `revision`, default main)."""
    from huggingface_hub import try_to_load_from_cache

    try:
        return isinstance(try_to_load_from_cache(model, "config.json", revision=revision), str)
    except ValueError:  # not a valid repo id: transformers will say so
        return False


def endpoint() -> str:
    """The Hub's URL as huggingface_hub uses it (HF_ENDPOINT, or https://huggingface.co)."""
    from huggingface_hub import constants

    return str(constants.ENDPOINT)


def unreachable(timeout: float = PROBE_TIMEOUT) -> str | None:
    """Why the Hub cannot be reached (one HEAD request, no retries), or None when it answers
    anything at all: any HTTP status means there is a route."""
    from huggingface_hub import get_session

    try:
        get_session().head(endpoint(), timeout=timeout, follow_redirects=False)
    except Exception as exc:  # DNS, refused, timeout, proxy, TLS: all mean "no route"
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return text
    return None


def quiet_hub_logs() -> None:
    """huggingface_hub's own retry warnings ("Retrying in 8s [Retry 4/5]") only with --debug."""
    if not debug_enabled():
        logging.getLogger("huggingface_hub").setLevel(logging.ERROR)


def go_offline() -> None:
    """Offline mode for the rest of this process: cached files load without asking the Hub."""
    from huggingface_hub import constants

    os.environ["HF_HUB_OFFLINE"] = "1"
    constants.HF_HUB_OFFLINE = True


def prepare(model: str, revision: str | None, warn: Callable[[str], None]) -> None:
    """Before loading Hub model `model`: with no route to the Hub, use the cached copy (warning
    once) or fail now with EngineError naming the cause and the ways out; in offline mode, fail
    now when the model is not cached."""
    quiet_hub_logs()
    if offline():
        if not cached(model, revision):  # said now, before seconds of importing torch and transformers
            raise EngineError(
                f"{model}: not in the local Hugging Face cache and offline mode is on (HF_HUB_OFFLINE)",
                hint=f"download it first (hf download {model}) or point --model at a local copy",
            )
        return
    reason = unreachable()
    if reason is None:
        return
    if cached(model, revision):
        warn(f"the Hugging Face Hub at {endpoint()} cannot be reached ({reason}); using the cached copy of {model}")
        go_offline()
        return
    raise EngineError(
        f"{model}: the Hugging Face Hub at {endpoint()} cannot be reached ({reason}), "
        "and the model is not in the local cache",
        hint=OFFLINE_HINT,
    )


def describe(model: str, revision: str | None = None) -> str:
    """Where a Hub model loads from, for the loading line."""
    if cached(model, revision):
        return f"{model} from the Hugging Face cache"
    if offline():
        return f"{model} (offline mode)"
    return f"{model} from the Hugging Face Hub (downloaded on first use)"
