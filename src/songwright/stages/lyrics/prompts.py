"""Every prompt the lyrics writer sends, in one place, with a version recorded in each song.

Change ``PROMPT_VERSION`` whenever a template changes: songs record it in
``meta["prompt_version"]`` and a LoRA fine-tune is only valid for the version it was trained on.

Order matters for speed: the fixed seed fields come first and the growing parts (the song so
far, then the lines of the current section) last, so consecutive calls share a long prefix and
the transformers backend reuses its KV cache for it.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence

from ...model import SongPrompt
from ...paths import ASSETS_DIR
from .lm import Message
from .plan import PlannedSection

PROMPT_VERSION = "lyrics-v2"

SYSTEM = ("You are a songwriter. You write song lyrics: short lines of 4 to 10 words that can "
          "be sung, with rhymes and vivid images. You write only the lyrics, one line per line, "
          "with no titles, labels, numbers or explanations.")

EXAMPLE_CHARS = 600  # enough to show a style; more would slow every call down

TASKS = {
    "verse": "a verse that moves the story on with new images",
    "first verse": "the first verse; it tells this: {verse_prompt}",
    "chorus": "the chorus: the catchy heart of the song, simple words, easy to sing again",
    "hook": "the hook: short, catchy, easy to chant",
    "pre-chorus": "the pre-chorus: it builds up to the chorus",
    "post-chorus": "the post-chorus: a short echo after the chorus",
    "bridge": "the bridge: a change of view or mood before the last chorus",
    "outro": "the outro: it closes the song",
    "other": "the next part of the song",
}


@functools.lru_cache(maxsize=1)
def _style_examples() -> dict[str, dict]:
    """Per-genre example sections from the songbook (shipped asset; built by
    ``songwright train baselines``). Empty when the asset is missing."""
    path = ASSETS_DIR / "lyrics-examples.json"
    if not path.is_file():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


def style_example_lines(prompt: SongPrompt) -> list[str]:
    """Lines of a songbook song of the prompt's genre, shown when the user gave no example.

    A 135M model that is only told what to write echoes the instructions ("the chorus is two
    lines"); shown a few real lines it writes lyrics. The lines are also banned from the output.
    """
    if prompt.example_lyrics.strip():
        return []
    ex = _style_examples().get((prompt.genre or "").lower())
    if not ex:
        return []
    return list(ex["verse"]) + list(ex["chorus"])


def describe(prompt: SongPrompt) -> str:
    """The seed fields as labelled lines; empty fields are left out."""
    rows = [("Title", prompt.title), ("Artist", prompt.artist), ("Genre", prompt.genre),
            ("Sub-genres", ", ".join(prompt.subgenres)), ("Era", prompt.era),
            ("The first verse is about", prompt.verse_prompt),
            ("Instructions", prompt.instructions)]
    text = "\n".join(f"{k}: {v.strip()}" for k, v in rows if v and v.strip())
    if prompt.example_lyrics.strip():
        text += ("\nExample lyrics, for the style only (do not copy them):\n"
                 + prompt.example_lyrics.strip()[:EXAMPLE_CHARS])
    else:
        example = style_example_lines(prompt)
        if example:
            text += ("\nLyrics of another song in this genre, for the style only (do not copy "
                     "them):\n" + "\n".join(example)[:EXAMPLE_CHARS])
    return text


def task_for(section: PlannedSection, prompt: SongPrompt) -> str:
    """What to write for this section, in words."""
    key = section.kind if section.kind in TASKS else "other"
    if section.kind == "verse" and section.number in (None, 1) and prompt.verse_prompt.strip():
        key = "first verse"
    task = TASKS[key].format(verse_prompt=prompt.verse_prompt.strip())
    if section.kind in ("chorus", "hook") and prompt.title.strip():
        task += f'. Use the title "{prompt.title.strip()}" in it'
    return task


def song_so_far(done: Sequence[tuple[str, Sequence[str]]]) -> str:
    """The sections written so far, each under its label in brackets."""
    return "\n\n".join(f"[{label}]\n" + "\n".join(lines) for label, lines in done if lines)


def section_messages(prompt: SongPrompt, section: PlannedSection,
                     done: Sequence[tuple[str, Sequence[str]]], lines: Sequence[str],
                     prefill: bool, start: str = "") -> list[Message]:
    """Chat messages asking for the next line(s) of ``section``.

    Args:
        prompt: the song prompt (every seed field goes in).
        section: the section being written.
        done: ``(label, lines)`` of the sections already written, in order.
        lines: lines of this section accepted so far.
        prefill: the backend continues a final assistant message: the accepted lines go there
            and the model writes the next line after them. Otherwise they go into the user
            message and the model is asked for the remaining lines.
        start: text the next line must begin with (the title, for a chorus), prefill only.
    """
    user = f"Write lyrics for this song.\n{describe(prompt)}"
    so_far = song_so_far(done)
    if so_far:
        user += f"\n\nThe song so far:\n{so_far}"
    n = section.lines
    user += f"\n\nNow write {task_for(section, prompt)}. It has {n} lines."
    msgs: list[Message] = [{"role": "system", "content": SYSTEM}]
    if prefill:
        msgs.append({"role": "user", "content": user})
        msgs.append({"role": "assistant",
                     "content": "".join(f"{ln}\n" for ln in lines) + start})
        return msgs
    if lines:
        user += (f"\nIts first {len(lines)} lines are:\n" + "\n".join(lines)
                 + f"\nWrite the remaining {n - len(lines)} lines only.")
    else:
        user += f" Write the {n} lines only."
    msgs.append({"role": "user", "content": user})
    return msgs
