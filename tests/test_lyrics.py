"""Tests for the lyrics stage: planning, cleaning, the writer, and every backend.

Fast tests use a tiny random Llama built in code and fake backends; the test that loads the
real default model (SmolLM2-135M) is marked slow.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from songwright.errors import SongwrightError
from songwright.model import Song, SongPrompt
from songwright.stages.base import LyricsStage
from songwright.stages.lyrics import (
    PROMPT_VERSION,
    BaseLM,
    LyricsWriter,
    clean_line,
    cut_line,
    genre_habit,
    load_lm,
    make_lyrics_stage,
    plan_song,
    reject_reason,
    split_candidates,
)
from songwright.stages.lyrics.fallback import fallback_line, keywords
from songwright.stages.lyrics.lm import StopFilter, chatml, derive_seed
from songwright.stages.lyrics.prompts import section_messages

PROMPT = SongPrompt(title="Dust on the Highway", artist="The Long Haul", genre="country",
                    subgenres=("honky-tonk",), era="1990s",
                    verse_prompt="a trucker driving home through the night to his daughter",
                    instructions="warm and hopeful", example_lyrics="Wheels keep turning\nHome",
                    key="G", tempo=96.0, time="4/4", seed=5)


@pytest.fixture(scope="module")
def tiny_stage() -> LyricsWriter:
    return make_lyrics_stage("tiny-random")


def kinds(plan) -> list[str]:
    return [s.kind for s in plan]


# ---------------------------------------------------------------- planning
@pytest.mark.parametrize("genre", ["pop", "rock", "country", "metal"])
def test_plan_habit_verse_chorus_bridge(genre: str) -> None:
    for seed in range(6):
        plan = plan_song(SongPrompt(title="T", genre=genre, seed=seed))
        core = [k for k in kinds(plan) if k not in ("pre-chorus", "outro")]
        assert core == ["verse", "chorus", "verse", "chorus", "bridge", "chorus"]
        assert 18 <= sum(s.lines for s in plan) <= 32


def test_plan_rap_long_verses_and_hooks() -> None:
    plan = plan_song(SongPrompt(title="T", genre="Hip Hop", seed=1))
    core = [s for s in plan if s.kind != "outro"]
    assert kinds(core) == ["verse", "hook", "verse", "hook"]
    assert [s.lines for s in core] == [8, 4, 8, 4]
    assert core[3].repeat_of == 1 and core[1].repeat_of is None
    assert genre_habit("", ("thrash metal",)) == "metal"


def test_plan_explicit_structure_and_line_count() -> None:
    p = SongPrompt(title="T", genre="rap", structure=("intro", "verse", "chorus", "verse",
                                                       "chorus", "outro"), lines_per_section=3)
    plan = plan_song(p)
    assert kinds(plan) == ["intro", "verse", "chorus", "verse", "chorus", "outro"]
    assert all(s.lines == 3 for s in plan)
    assert [s.label for s in plan] == ["Intro", "Verse 1", "Chorus", "Verse 2", "Chorus", "Outro"]
    assert [s.number for s in plan] == [None, 1, None, 2, None, None]
    assert plan[4].repeat_of == 2
    no_fixed = plan_song(SongPrompt(title="T", structure=("intro", "verse", "chorus")))
    assert [s.lines for s in no_fixed] == [0, 4, 4]  # instrumental intro


def test_plan_deterministic_per_seed() -> None:
    plans = {tuple(kinds(plan_song(SongPrompt(title="T", genre="pop", seed=s))))
             for s in range(12)}
    assert len(plans) > 1  # the seed changes optional parts (outro, pre-chorus)
    for s in range(5):
        p = SongPrompt(title="T", genre="pop", seed=s)
        assert plan_song(p) == plan_song(p)


# ---------------------------------------------------------------- cleaning
def test_clean_labels_numbering_quotes_tags() -> None:
    assert clean_line("Verse 1: I walk the empty streets") == "I walk the empty streets"
    assert clean_line("**Chorus:** We are the fire tonight") == "We are the fire tonight"
    assert clean_line("2) 'Hold me close and never let go'") == "Hold me close and never let go"
    assert clean_line('- "Rolling down the highway"') == "Rolling down the highway"
    assert clean_line("[Verse 2]") == "" and clean_line("(Chorus)") == ""
    assert clean_line("<|im_end|>") == ""
    assert clean_line("we ride (x2)") == "We ride"
    numbered = "1. Lights go down\n2. Hearts beat loud\n3. We dance till dawn"
    assert split_candidates(numbered) == ["Lights go down", "Hearts beat loud",
                                          "We dance till dawn"]


def test_clean_cuts_run_on_at_clause_boundary() -> None:
    run_on = ("The sun sets on a desert road where a lone trucker drives his weary soul "
              "through the endless expanse of the highway and the radio plays the songs "
              "his daughter loved when she was small and the night is long and cold "
              "and the stars look down on him as he thinks of home and all the years he "
              "spent away from the people he loves")
    assert len(run_on.split()) >= 60
    out = clean_line(run_on)
    assert 3 <= len(out.split()) <= 12
    assert out.split()[-1].lower() not in ("the", "a", "and", "of", "to", "his")
    assert cut_line("I drove all night, the radio was playing our song and I thought", 8) == \
        "I drove all night"
    prose = "I miss you. The road is long and the night is cold. " * 3
    assert all(len(c.split()) <= 12 for c in split_candidates(prose))


def test_reject_loops_duplicates_and_meta() -> None:
    assert reject_reason("the road the road the road the road") == "loop"
    assert reject_reason("I love you I love you I love you") == "loop"
    assert reject_reason("Here is a song about a trucker") == "talks about the song"
    assert reject_reason("The first line of the song is about a trucker") is not None
    assert reject_reason("Hold me close tonight", used=["hold me close tonight!"]) == "duplicate"
    assert reject_reason("Okay") == "too short"
    assert reject_reason("A: Your answer will be a playable game") is not None
    assert reject_reason("!!! ### 12345 ...") is not None
    assert reject_reason("Wheels keep turning round", banned={"wheels keep turning round"}) \
        == "copied from the prompt"
    assert reject_reason("Headlights burning through the rain") is None


def test_fallback_lines_unique_and_from_prompt() -> None:
    import random

    rng, used = random.Random(0), []
    for _ in range(40):
        used.append(fallback_line(PROMPT, rng, used))
    assert len({u.lower() for u in used}) == 40
    assert "trucker" in keywords(PROMPT) and "dust" in keywords(PROMPT)
    assert all(reject_reason(u) in (None, "duplicate") for u in used[:5])


# ---------------------------------------------------------------- prompts and helpers
def test_prompt_carries_every_seed_field() -> None:
    sec = plan_song(PROMPT)[0]
    msgs = section_messages(PROMPT, sec, [], ["First line"], prefill=True)
    text = "\n".join(m["content"] for m in msgs)
    for value in ("Dust on the Highway", "The Long Haul", "country", "honky-tonk", "1990s",
                  "a trucker driving home", "warm and hopeful", "Wheels keep turning"):
        assert value in text
    assert msgs[-1] == {"role": "assistant", "content": "First line\n"}
    block = section_messages(PROMPT, sec, [("Verse 1", ("a", "b"))], [], prefill=False)
    assert block[-1]["role"] == "user" and "[Verse 1]" in block[-1]["content"]
    assert chatml(msgs).endswith("<|im_start|>assistant\nFirst line\n")


def test_stop_filter_never_leaks_a_stop_string() -> None:
    pieces = iter(["Hello wor", "ld\nnext", " line"])
    assert "".join(StopFilter(["\n"]).feed_all(pieces)) == "Hello world"
    pieces = iter(["abc<|im", "_end|>zzz"])
    assert "".join(StopFilter(["<|im_end|>"]).feed_all(pieces)) == "abc"
    assert derive_seed(1, "a") == derive_seed(1, "a") != derive_seed(2, "a")


# ---------------------------------------------------------------- the writer
def check_song(song: Song, prompt: SongPrompt) -> None:
    plan = plan_song(prompt)
    assert [s.kind for s in song.sections] == [p.kind for p in plan]
    assert [len(s.lines) for s in song.sections] == [p.lines for p in plan]
    for s, p in zip(song.sections, plan):
        assert s.label == p.label and s.number == p.number
        assert s.env == ("chorus" if s.kind == "chorus" else
                         "bridge" if s.kind == "bridge" else "verse")
        for ln in s.lines:
            assert 1 <= len(ln.text.split()) <= 12 and ln.text == ln.text.strip()
    choruses = [s for s in song.sections if s.kind in ("chorus", "hook")]
    assert all(c.lines == choruses[0].lines for c in choruses)
    if choruses and prompt.title:
        assert any(prompt.title.lower() in ln.text.lower() for ln in choruses[0].lines)
    unique = [ln.text.lower() for s, p in zip(song.sections, plan) if p.repeat_of is None
              for ln in s.lines]
    assert len(unique) == len(set(unique))


def test_tiny_random_writer_returns_planned_sections(tiny_stage: LyricsWriter) -> None:
    assert isinstance(tiny_stage, LyricsStage)
    song = tiny_stage(PROMPT)
    check_song(song, PROMPT)
    assert (song.title, song.artist, song.genre, song.era) == (
        "Dust on the Highway", "The Long Haul", "country", "1990s")
    assert (song.key, song.tempo, song.time, song.subgenres) == ("G", 96.0, "4/4", ("honky-tonk",))
    assert song.meta["lyrics_model"] == "tiny-random"
    assert song.meta["prompt_version"] == PROMPT_VERSION
    assert song.meta["verse_prompt"] == PROMPT.verse_prompt
    assert Song.from_json(song.to_json()) == song


def test_same_seed_same_lyrics(tiny_stage: LyricsWriter) -> None:
    p = SongPrompt(title="Neon", genre="pop", seed=11, lines_per_section=2)
    first = tiny_stage(p)
    tiny_stage(SongPrompt(title="Other", genre="rock", seed=3, lines_per_section=2))
    again = make_lyrics_stage("tiny-random")(p)
    assert tiny_stage(p) == first == again
    other = tiny_stage(SongPrompt(title="Neon", genre="pop", seed=12, lines_per_section=2))
    assert other.lyrics != first.lyrics


def test_on_line_streams_every_line_in_order() -> None:
    seen: list[tuple[str, str]] = []
    stage = make_lyrics_stage("tiny-random", on_line=lambda sec, text: seen.append(
        (sec.label, text)))
    song = stage(SongPrompt(title="Go", genre="rap", seed=2, lines_per_section=2))
    assert seen == [(s.label, ln.text) for s in song.sections for ln in s.lines]


class ScriptedLM(BaseLM):
    """A fake backend answering from a list (cycled), recording the prompts it saw."""

    def __init__(self, answers: list[str], prefill: bool) -> None:
        self.answers, self.supports_prefill, self.name = answers, prefill, "scripted"
        self.prompts: list = []

    def _generate(self, prompt, *, max_new_tokens, temperature, top_p, seed) -> str:
        self.prompts.append(prompt)
        return self.answers[(len(self.prompts) - 1) % len(self.answers)]


def test_garbage_model_falls_back_to_safe_lines() -> None:
    lm = ScriptedLM(["", "[Chorus]", "la la la la la la la", "Here is your song!", "12345"],
                    prefill=True)
    writer = LyricsWriter(lm, max_attempts=3)
    song = writer(PROMPT)
    check_song(song, PROMPT)
    n_unique = sum(p.lines for p in plan_song(PROMPT) if p.repeat_of is None)
    st = writer.last_stats
    # the only model line kept is the chorus's opening, which the writer starts with the title
    assert st.accepted == 1 and st.fallbacks == n_unique - 1
    assert song.meta["lyrics_fallback_lines"] == str(n_unique - 1)


def test_block_backend_gets_sections_parsed_into_lines() -> None:
    block = ("Sure! Here are the lyrics:\n[Verse]\n1. Headlights cut the midnight rain\n"
             "2. Diesel hum and a country lane\n3. Photo of my girl upon the dash\n"
             "4. Miles to go but I'll be back")
    lm = ScriptedLM([block], prefill=False)
    song = LyricsWriter(lm)(SongPrompt(title="T", structure=("verse",), seed=1))
    assert [ln.text for ln in song.sections[0].lines] == [
        "Headlights cut the midnight rain", "Diesel hum and a country lane",
        "Photo of my girl upon the dash", "Miles to go but I'll be back"]
    assert lm.prompts[0][-1]["role"] == "user"


def test_seq2seq_backend_tiny_t5() -> None:
    from transformers import T5Config, T5ForConditionalGeneration

    from songwright.stages.lyrics.hf import TransformersLM
    from songwright.stages.lyrics.tiny import tiny_tokenizer

    tok = tiny_tokenizer()
    cfg = T5Config(vocab_size=len(tok), d_model=16, d_ff=32, d_kv=8, num_layers=1,
                   num_heads=2, decoder_start_token_id=tok.pad_token_id,
                   pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id)
    lm = TransformersLM(T5ForConditionalGeneration(cfg).eval(), tok, name="tiny-t5")
    assert not lm.supports_prefill
    p = SongPrompt(title="Sea", structure=("verse", "chorus"), lines_per_section=2, seed=4)
    check_song(LyricsWriter(lm, max_new_tokens=12)(p), p)


# ---------------------------------------------------------------- errors
def test_missing_model_path_is_named(tmp_path) -> None:
    missing = tmp_path / "no-such-model"
    with pytest.raises(SongwrightError, match="no-such-model"):
        make_lyrics_stage(str(missing))
    with pytest.raises(SongwrightError, match="does not exist"):
        load_lm(str(tmp_path / "x.gguf"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(SongwrightError, match="empty"):
        load_lm(str(tmp_path / "empty"))


def test_hub_id_offline_says_so(monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(SongwrightError, match="not found locally and the hub is offline"):
        load_lm("songwright-test/definitely-not-a-model")
    with pytest.raises(SongwrightError, match="openai:<base_url>#<model>"):
        load_lm("openai:http://127.0.0.1:1")


# ---------------------------------------------------------------- HTTP backend
class _Handler(BaseHTTPRequestHandler):
    mode = "good"
    seen: list = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).seen.append((self.path, body, self.headers.get("Authorization")))
        if self.mode == "good":
            n = len(type(self).seen)
            text = "\n".join(f"{i + 1}. Line number {w} of the song we sing"
                             for i, w in enumerate(["one", "two", "three", "four"][:2]))
            payload = {"choices": [{"message": {"role": "assistant",
                                                "content": f"Call {n}\n{text}"}}]}
            data = json.dumps(payload).encode()
        elif self.mode == "malformed":
            data = b'{"choices": []}'
        else:
            data = b"<html>oops</html>"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture()
def fake_server():
    server = HTTPServer(("127.0.0.1", 0), _Handler)
    _Handler.seen = []
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_http_backend_good_response(fake_server: str) -> None:
    _Handler.mode = "good"
    lm = load_lm(f"openai:{fake_server}#tiny-llm", api_key="k123")
    assert lm.generate("hi", max_new_tokens=20, seed=3, stop=["\n"]) == "Call 1"
    path, body, auth = _Handler.seen[0]
    assert path == "/v1/chat/completions" and auth == "Bearer k123"
    assert body["model"] == "tiny-llm" and body["messages"][0]["content"] == "hi"
    assert body["max_tokens"] == 20 and body["stop"] == ["\n"]
    p = SongPrompt(title="T", structure=("verse", "chorus"), lines_per_section=2, seed=1)
    song = make_lyrics_stage(f"openai:{fake_server}#tiny-llm")(p)
    assert len(song.sections[0].lines) == 2 and song.meta["lyrics_model"].endswith("#tiny-llm")


@pytest.mark.parametrize("mode", ["malformed", "not-json"])
def test_http_backend_malformed_response(fake_server: str, mode: str) -> None:
    _Handler.mode = mode
    with pytest.raises(SongwrightError, match="malformed response from http://127.0.0.1"):
        load_lm(f"openai:{fake_server}#m").generate("hi")


def test_http_backend_unreachable_names_url_quickly() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    url = f"http://127.0.0.1:{port}"
    t0 = time.perf_counter()
    with pytest.raises(SongwrightError, match=f"127.0.0.1:{port}"):
        load_lm(f"openai:{url}#m", timeout=3).generate("hi")
    assert time.perf_counter() - t0 < 3.5


# ---------------------------------------------------------------- optional and slow
def test_llama_cpp_backend_when_installed() -> None:
    pytest.importorskip("llama_cpp")
    from songwright.stages.lyrics.default import LlamaCppLM, smollm2_gguf

    lm = LlamaCppLM(smollm2_gguf())
    assert lm.generate("The sky is", max_new_tokens=8, seed=1).strip()


def test_llama_cpp_lora_matches_the_merged_transformers_model(tmp_path) -> None:
    """A PEFT adapter converted to a GGUF LoRA moves llama.cpp's logits the way merging it
    moves the transformers model's (Q/K permutation included). Needs `make setup-llamacpp`."""
    pytest.importorskip("llama_cpp")
    import numpy as np
    import torch
    from llama_cpp import Llama
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from songwright.stages.lyrics.default import (
        converter_dir,
        ensure_merged,
        ensure_smollm2,
        lora_gguf,
        smollm2_gguf,
    )

    if not (converter_dir() / "convert_lora_to_gguf.py").is_file():
        pytest.skip("llama.cpp's LoRA converter not installed (make setup-llamacpp)")
    base = ensure_smollm2()
    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
    model = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, task_type="CAUSAL_LM",
                                             target_modules=["q_proj", "k_proj", "down_proj"]))
    torch.manual_seed(0)
    for name, p in model.named_parameters():
        if "lora_B" in name:
            p.data.normal_(0, 0.3)
    model.save_pretrained(tmp_path / "adapter")
    gguf = lora_gguf(tmp_path / "adapter", cache=tmp_path, base=base)
    assert gguf.is_file() and lora_gguf(tmp_path / "adapter", cache=tmp_path, base=base) == gguf
    ids = [504, 2365, 6354, 17437, 36051, 690, 260, 23790, 2767, 284]

    def hf(path):
        m = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
        with torch.no_grad():
            return m(torch.tensor([ids])).logits[0].numpy()

    def llama(lora):
        llm = Llama(model_path=str(smollm2_gguf()), lora_path=lora, n_ctx=64, logits_all=True,
                    verbose=False, n_threads=2)
        llm.eval(ids)
        return np.array(llm.scores[:len(ids)])

    d_hf = hf(ensure_merged(tmp_path / "adapter", cache=tmp_path, base=base)) - hf(base)
    d_ll = llama(str(gguf)) - llama(None)
    assert np.corrcoef(d_hf.ravel(), d_ll.ravel())[0, 1] > 0.95


@pytest.mark.slow
def test_default_model_writes_a_real_song() -> None:
    from songwright.stages.lyrics.default import smollm2_gguf

    try:
        smollm2_gguf()
    except SongwrightError as e:
        pytest.skip(str(e))
    stage = make_lyrics_stage("default")
    t0 = time.perf_counter()
    song = stage(PROMPT)
    elapsed = time.perf_counter() - t0
    check_song(song, PROMPT)
    assert song.meta["lyrics_model"].startswith("smollm2")
    # most lines should come from the model, not from the fallback templates
    assert int(song.meta["lyrics_fallback_lines"]) <= 4, song.lyrics
    assert elapsed < 120
    assert stage(PROMPT) == song


def test_task_echoes_and_stage_notes_are_cleaned():
    from songwright.stages.lyrics.clean import clean_line, reject_reason

    assert clean_line("Blessed is thy love, sweetheart! (Easter)") == "Blessed is thy love, sweetheart!"
    for echo in ("Short, catchy: 19 words", "Tiny part of the song is 2-line",
                 "Write the second sentence using 15 words"):
        assert reject_reason(clean_line(echo)) == "talks about the song", echo
    assert reject_reason(clean_line("Corner store kings are catching rays")) is None


def test_near_duplicate_lines_are_rejected():
    from songwright.stages.lyrics.clean import reject_reason

    used = ["Your love did not lie in the sea of our dreams"]
    assert reject_reason("Your love did not lie in the land of dreams", used) == "duplicate"
    assert reject_reason("Summer rain keeps falling on the old tin roof", used) is None
