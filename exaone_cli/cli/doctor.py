"""`exaone doctor`: what this machine has, and whether the model fits it, without loading weights."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

import typer
from rich.console import Console

from ..config import DEFAULT_CONTEXT_TOKENS, DEFAULT_MODEL, LoadOptions
from ..engines.installed import LOCAL_PACKAGES, explain_import_failure, missing
from ..errors import EngineError
from ..machine import inspect_machine
from ..memory import hardware_of, parse_gpu_memory, plan_memory
from ..memory.plan import machine_notes
from ..pages.hwp import hwp_status
from ..render.doctor import print_doctor, print_machine
from ..render.progress import spinner
from .errors import error_boundary
from .options import (
    LOADING,
    OUTPUT,
    AttnImplementationOpt,
    DebugOpt,
    DeviceMapOpt,
    DtypeOpt,
    MaxMemoryOpt,
    ModelOpt,
    OffloadFolderOpt,
    QuantizeOpt,
    RevisionOpt,
)

DOCTOR_HELP = """Check this machine, and plan the model's memory without loading any weights.

Reports the GPUs, RAM, free disk, library versions, poppler, offline mode and cached models.
Then plans the model for the loading options given (the same as ocr and ask take): the weights
as loaded, where accelerate would place them, the KV cache per token and per page, and a
verdict. When it does not fit, it names the first --quantize (none, 8bit, 4bit) that does.

\b
Examples:
  exaone doctor
  exaone doctor --quantize 4bit
  exaone doctor --gpu-memory 24GiB --json | jq .verdict
  exaone doctor --gpu-memory 48GiB,48GiB --model ./EXAONE-4.5-33B
"""

GpuMemoryOpt = Annotated[
    str | None,
    typer.Option(
        "--gpu-memory",
        metavar="SIZES",
        help="Plan for GPUs you describe instead of this machine's, free memory each: 24GiB or 48GiB,48GiB.",
        rich_help_panel=LOADING,
    ),
]

DoctorJsonOpt = Annotated[
    bool, typer.Option("--json", help="One JSON object on stdout, for scripts.", rich_help_panel=OUTPUT)
]


def doctor_command(
    model: ModelOpt = DEFAULT_MODEL,
    revision: RevisionOpt = None,
    quantize: QuantizeOpt = "none",
    dtype: DtypeOpt = "auto",
    device_map: DeviceMapOpt = "auto",
    max_memory: MaxMemoryOpt = None,
    offload_folder: OffloadFolderOpt = None,
    attn_implementation: AttnImplementationOpt = None,
    gpu_memory: GpuMemoryOpt = None,
    context_tokens: Annotated[
        int,
        typer.Option(
            "--context-tokens",
            min=1024,
            envvar="EXAONE_CONTEXT_TOKENS",
            help="Plan the KV cache of one `ask` prompt this long (as `ask --context-tokens`).",
            rich_help_panel=LOADING,
        ),
    ] = DEFAULT_CONTEXT_TOKENS,
    json_out: DoctorJsonOpt = False,
    debug: DebugOpt = False,
) -> None:
    out, err = Console(highlight=False), Console(stderr=True, highlight=False)
    with error_boundary(err):
        load = LoadOptions.from_flags(
            model, revision, quantize=quantize, dtype=dtype, device_map=device_map, max_memory=max_memory,
            offload_folder=offload_folder, attn_implementation=attn_implementation,
        )  # fmt: skip
        gpus = parse_gpu_memory(gpu_memory) if gpu_memory else None
        with spinner(err, "Planning (no weights are loaded)"):
            machine = replace(inspect_machine(), hwp=hwp_status())
            failure: EngineError | None = None  # no plan can be made here: the machine report still helps
            try:
                plan = plan_memory(load, hardware_of(machine, gpus), context_tokens)
            except EngineError as exc:
                if not missing(LOCAL_PACKAGES):
                    raise  # bad input (a model not in the cache, ...): one error line
                failure = exc  # a --server-only install asked for a model exaone does not ship
            except Exception as exc:  # transformers' "Could not import module ..." from a mismatched torchvision
                failure = explain_import_failure(exc, "the memory plan")
                if failure is None:
                    raise
        if failure is not None:
            if not json_out:
                print_machine(machine, out)
            raise failure
        plan = replace(plan, notes=machine_notes(plan, machine) + plan.notes)
        print_doctor(machine, plan, out, as_json=json_out)
