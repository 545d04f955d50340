"""One `exaone chat` for ten questions against ten `exaone ask` processes: what loading the model
once saves.

Both sides ask the same ten questions about one born-digital contract (its pages come from the
text layer, so no page goes to the model), as whole `exaone` processes on the tiny checkpoint:
`exaone chat doc.pdf --jsonl` with the questions piped in, and `exaone ask doc.pdf QUESTION --json`
once per question. Answers are greedy and short (--answer-tokens) and prompts small
(--context-tokens 2048: the tiny test tokenizer makes ~3x EXAONE's tokens of Korean, and a CPU
prefill of 16K of them would measure the prefill, not the load), as a short answer is where the
load is most of the time. The chat side carries its conversation in each prompt (longer prompts):
that cost is part of what is measured. Medians of --repeats, side by side in one run.

    python benchmarks/chat_vs_ask.py                       # tiny checkpoint, 10 questions, 3 repeats
    python benchmarks/chat_vs_ask.py --repeats 1 --questions 3   # a smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from docqa_fixtures import contract_pages, make_coded_pdf  # noqa: E402

ANSWER = "제17조의2 (위약금) 계약을 해지하는 자는 상대방에게 위약금 3,700만원을 지급한다."
QUESTIONS = (
    "위약금은 얼마인가요?",
    "그럼 누가 내나요?",
    "비밀 유지 의무는 언제까지인가요?",
    "대금은 언제 지급하나요?",
    "관할 법원은 어디인가요?",
    "보증 기간은 얼마나 되나요?",
    "검수는 며칠 안에 끝내야 하나요?",
    "회의록은 몇 년 보관하나요?",
    "계약 내용은 어떻게 바꿀 수 있나요?",
    "What happens to deliveries?",
)


def exaone(*args: str) -> list[str]:
    return [sys.executable, "-m", "exaone_cli", *args]


def timed(cmd: list[str], env: dict[str, str], stdin: str | None = None) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, input=stdin, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - start
    if proc.returncode not in (0, 1):  # 1: a random model's answer cut by the token limit
        raise SystemExit(f"{' '.join(cmd[:6])} ... failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return seconds, proc.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="checkpoint folder (default: build the tiny random one)")
    parser.add_argument("--questions", type=int, default=len(QUESTIONS))
    parser.add_argument("--pages", type=int, default=12)
    parser.add_argument("--context-tokens", type=int, default=2048, help="small: the CPU prefill stays short")
    parser.add_argument("--answer-tokens", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, help="write the results here too")
    args = parser.parse_args()
    questions = QUESTIONS[: args.questions]
    with tempfile.TemporaryDirectory(prefix="exaone-chat-") as folder:
        work = Path(folder)
        model = args.model
        if model is None:
            from tiny_checkpoint import build

            model = str(build(work / "tiny"))
        pdf = make_coded_pdf(work / "contract.pdf", contract_pages(args.pages, 17, ANSWER))
        common = ["--model", model, "--temperature", "0", "--no-think", "--max-new-tokens", str(args.answer_tokens),
                  "--max-images", "1", "--context-tokens", str(args.context_tokens), "--no-cache"]  # fmt: skip
        env = {**os.environ, "EXAONE_CACHE_DIR": str(work / "store"), "EXAONE_NO_HISTORY": "1"}
        chat_times, ask_times = [], []
        for _ in range(args.repeats):
            seconds, out = timed(exaone("chat", str(pdf), *common, "--jsonl"), env, "\n".join(questions) + "\n")
            answered = [json.loads(line) for line in out.splitlines()]
            assert [body["turn"] for body in answered] == list(range(1, len(questions) + 1)), out[-2000:]
            chat_times.append(seconds)
            total = 0.0
            for question in questions:
                seconds, out = timed(exaone("ask", str(pdf), question, *common, "--json"), env)
                assert json.loads(out)["mode"] == "text"
                total += seconds
            ask_times.append(total)
    chat_s, ask_s = statistics.median(chat_times), statistics.median(ask_times)
    result = {
        "questions": len(questions), "pages": args.pages, "answer_tokens": args.answer_tokens,
        "repeats": args.repeats, "chat_s": chat_s, "ask_s": ask_s, "ratio": ask_s / chat_s,
    }  # fmt: skip
    print(
        f"{len(questions)} questions about a {args.pages}-page PDF: one `exaone chat` {chat_s:.1f} s, "
        f"{len(questions)} `exaone ask` processes {ask_s:.1f} s: chat is {ask_s / chat_s:.1f}x faster"
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
