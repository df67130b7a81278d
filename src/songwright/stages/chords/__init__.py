"""Chords stage: put chords on every lyric line."""
