"""Plain-text lead sheet: chords printed above the words they fall on."""

from __future__ import annotations

from ..model import Line, Song


def line_with_chords_above(line: Line) -> list[str]:
    """Two rows (chords, text) for a line; a chord never overwrites the previous one."""
    if line.kind == "comment":
        return [f"({line.text})"]
    if not line.chords:
        return [line.text]
    row = ""
    for ca in sorted(line.chords, key=lambda c: c.position):
        name = ca.chord.format("original")
        pos = max(ca.position, len(row) + (1 if row else 0))
        row = row.ljust(pos) + name
    return [row.rstrip(), line.text] if line.text.strip() else [row.rstrip()]


def lead_sheet(song: Song) -> str:
    """The song as a musician reads it: header, then each section with chords over lyrics."""
    head = [song.title or "(untitled)"]
    if song.artist:
        head[0] += f" - {song.artist}"
    facts = []
    if song.genre:
        fact = f"genre {song.genre}"
        if song.genre_probs:
            top = max(song.genre_probs, key=song.genre_probs.get)
            p = song.genre_probs[top]
            # The genre is what was asked for; say how the classifier reads the lyrics.
            fact += f" ({p:.0%})" if top == song.genre else f" (lyrics read as {top}, {p:.0%})"
        facts.append(fact)
    if song.key:
        facts.append(f"key {song.key}")
    if song.tempo:
        facts.append(f"{song.tempo:g} BPM")
    if song.time:
        facts.append(song.time)
    if facts:
        head.append(", ".join(facts))
    out = ["\n".join(head)]
    for sec in song.sections:
        rows = [f"[{sec.name.title() if not sec.label else sec.label}]"]
        for line in sec.lines:
            rows.extend(line_with_chords_above(line))
        out.append("\n".join(rows))
    return "\n\n".join(out) + "\n"
