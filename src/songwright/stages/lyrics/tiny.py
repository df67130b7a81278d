"""A tiny random-weight Llama and a word-level tokenizer, built in code with no download.

Used by tests and by the pipeline's fast path (``make_lyrics_stage("tiny-random")``): its
output is random words, so the writer's cleaning, retries and fallbacks all get exercised
while the whole stage runs in well under a second.
"""

from __future__ import annotations

from typing import Any

from .hf import TransformersLM

_WORDS = """
the a and i you we my your our in on of to for with at from by under over into
love heart night day light fire rain road home time dream sky sea river town city sun moon
star song voice hand eyes soul wind dust gold wild free young old long lost blue
run hold feel know see say sing dance burn fall rise stay go come break shine ride
is are was were be will can never always again tonight forever now still here there
all no one way back down up out away like so but when where""".split()

_CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}"
    "{% if not (loop.last and m['role'] == 'assistant' and continue_final_message) %}"
    "<|im_end|>\n{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


def tiny_tokenizer() -> Any:
    """A Metaspace word-level tokenizer over a few hundred lyric words, with a chat template."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    specials = ["<unk>", "<s>", "</s>", "<|im_start|>", "<|im_end|>"]
    pieces = ["\n", ",", ".", "\u2581,", "\u2581.", "\u2581"]
    for w in _WORDS:
        # only space-led pieces, so random output decodes to separate words
        pieces += ["\u2581" + w, "\u2581" + w.capitalize()]
    vocab: dict[str, int] = {}
    for p in specials + pieces:
        vocab.setdefault(p, len(vocab))
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    # newlines are their own tokens (the writer stops on them); Metaspace keeps word spacing
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(r"\n"), behavior="isolated"),
        pre_tokenizers.Split(Regex(r"[,.]"), behavior="isolated"),
        pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="never")])
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="never")
    tok.add_special_tokens([AddedToken(s, special=True) for s in specials])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", bos_token="<s>",
                                   eos_token="<|im_end|>", pad_token="</s>")
    fast.chat_template = _CHAT_TEMPLATE
    return fast


def tiny_random_lm(seed: int = 0, repetition_penalty: float = 1.15) -> TransformersLM:
    """A 2-layer, 32-wide random Llama wrapped as a :class:`TransformersLM` (~0.1 s to build)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tok = tiny_tokenizer()
    config = LlamaConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, intermediate_size=64,
                         max_position_embeddings=4096, bos_token_id=tok.bos_token_id,
                         eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    with torch.random.fork_rng():
        torch.manual_seed(seed)  # same weights every time, without touching the global RNG
        model = LlamaForCausalLM(config).eval()
    return TransformersLM(model, tok, name="tiny-random", repetition_penalty=repetition_penalty)
