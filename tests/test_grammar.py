"""The local engine's grammar (engines/grammar.py) on the tiny checkpoint's real tokenizer, no model:
from anywhere a noise generator can reach inside a schema's grammar, the closing rule finishes
the JSON in exactly the tokens it promised, and the result validates. (tests/test_extract.py
runs the same through the model.)"""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
from extract_schemas import FEATURES, LOOSE

from exaone_cli.engines.grammar import GrammarCompiler, _Walk, lark_grammar, mask_bits
from exaone_cli.extract.schema import load_template, template_names
from exaone_cli.extract.validate import check_generation

SCHEMAS = {**{name: load_template(name).schema for name in template_names()}, "features": FEATURES, "loose": LOOSE}


@pytest.fixture(scope="module")
def compiler(tiny_model: Path) -> GrammarCompiler:
    from transformers import AutoTokenizer

    config = json.loads((tiny_model / "config.json").read_text())
    return GrammarCompiler(AutoTokenizer.from_pretrained(tiny_model), config["text_config"]["vocab_size"])


def noise_then_close(compiler: GrammarCompiler, schema: dict, thinking: bool, rng: random.Random) -> tuple[str, bool]:
    """Random allowed tokens (a noise model under the grammar) for a random number of steps, then
    the closing rule; the decoded text, and whether the rule took exactly the tokens it promised."""
    matcher = compiler.matcher(schema, thinking)
    rule, tokens = compiler.rule, []
    for _ in range(rng.randrange(0, 160)):
        allowed = [int(t) for t in np.flatnonzero(mask_bits(matcher, compiler.n_vocab)) if t != rule.eos]
        if not allowed:  # the noise finished the JSON itself: the rule only adds the end of the turn
            break
        token = rng.choice(allowed)
        assert matcher.consume_token(token)
        tokens.append(token)
    promised = rule.cost(matcher, 4096)
    walk, closing = _Walk(), 0
    while not tokens or tokens[-1] != rule.eos:
        assert closing < 4096, compiler.tokenizer.decode_str(tokens[-200:])
        token = rule.choose(matcher, walk)
        assert token is not None and matcher.consume_token(token)
        tokens.append(token)
        closing += 1
    text = compiler.tokenizer.decode_str([t for t in tokens if t != rule.eos])
    return text, promised == closing


@pytest.mark.parametrize("name", list(SCHEMAS))
@pytest.mark.parametrize("thinking", [False, True])
def test_noise_under_the_grammar_always_closes_into_valid_json(
    compiler: GrammarCompiler, name: str, thinking: bool
) -> None:
    rng = random.Random(f"{name}-{thinking}")
    for _ in range(20):
        text, exact = noise_then_close(compiler, SCHEMAS[name], thinking, rng)
        checked = check_generation(text, SCHEMAS[name], thinking=thinking, finish_reason="stop", max_new_tokens=1)
        assert checked.valid, (text, checked.errors)
        assert exact, text  # the budget check can trust the promised cost


def test_the_thinking_grammar_keeps_the_reasoning_apart(compiler: GrammarCompiler) -> None:
    grammar = lark_grammar(LOOSE, thinking=True)
    assert grammar.startswith("start: REASONING </think> GAP answer")
    matcher = compiler.matcher(LOOSE, thinking=True)
    text = 'I read the page {"a": 1}.</think>\n\n{"a":"x","b":2}'
    tokens = compiler.tokenizer.tokenize_str(text, parse_special=True)
    assert matcher.consume_tokens(tokens) and matcher.is_accepting()
    checked = check_generation(text, LOOSE, thinking=True, finish_reason="stop", max_new_tokens=1)
    assert checked.data == {"a": "x", "b": 2} and checked.reasoning == 'I read the page {"a": 1}.'
    # without thinking the answer must be the JSON from its first byte
    assert not compiler.matcher(LOOSE, thinking=False).consume_tokens(compiler.tokenizer.tokenize_str("Sure: {"))
