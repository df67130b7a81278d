"""Genre styles: default tempo, General MIDI programs and pattern names for each genre family.

Genre labels come from the genre stage, a prompt or an imported songbook, so they are matched
loosely (``"Hip-Hop/Rap"`` → rap, ``"Heavy Metal"`` → metal, ``"R&B"`` → rnb); anything unknown
is arranged as pop.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GenreStyle:
    """How the basic arranger plays one genre family.

    Programs are General MIDI program numbers counted from 0 (0 = Acoustic Grand Piano).
    ``chord_pattern``: ``beat`` (block chord on every beat), ``strum`` (every tick, accented
    beats), ``power`` (root-fifth-octave on every tick), ``sustain`` (one chord per bar or
    chord change), ``offbeat`` (skank: the second half of every beat), ``boom_chick`` (chord on
    the weak beats only). ``bass_pattern``: ``root_fifth``, ``octaves``, ``drive``,
    ``alternating`` (country: root-fifth with approach notes), ``walking``, ``syncopated``.
    ``drum_pattern``: ``backbeat``, ``rock``, ``metal``, ``country``, ``hiphop``, ``jazz``,
    ``reggae``, ``four_floor``.
    """

    family: str
    tempo: float
    chord_program: int
    bass_program: int
    chord_pattern: str
    bass_pattern: str
    drum_pattern: str


STYLES: dict[str, GenreStyle] = {
    s.family: s for s in (
        GenreStyle("pop", 110, 0, 33, "beat", "root_fifth", "backbeat"),
        GenreStyle("rock", 120, 29, 34, "strum", "octaves", "rock"),
        GenreStyle("metal", 140, 30, 34, "power", "drive", "metal"),
        GenreStyle("punk", 170, 30, 34, "power", "drive", "rock"),
        GenreStyle("rap", 90, 4, 38, "sustain", "syncopated", "hiphop"),
        GenreStyle("rnb", 85, 4, 33, "sustain", "syncopated", "hiphop"),
        GenreStyle("country", 110, 25, 33, "boom_chick", "alternating", "country"),
        GenreStyle("folk", 100, 25, 32, "strum", "root_fifth", "country"),
        GenreStyle("blues", 90, 0, 33, "beat", "walking", "backbeat"),
        GenreStyle("jazz", 120, 0, 32, "beat", "walking", "jazz"),
        GenreStyle("reggae", 80, 16, 33, "offbeat", "syncopated", "reggae"),
        GenreStyle("electronic", 124, 89, 38, "sustain", "octaves", "four_floor"),
    )
}

# Substrings that identify a family, checked in order (metal before rock: "metal rock").
_ALIASES: tuple[tuple[str, str], ...] = (
    ("metal", "metal"), ("core", "metal"), ("punk", "punk"), ("hip hop", "rap"),
    ("hip-hop", "rap"), ("hiphop", "rap"), ("rap", "rap"), ("trap", "rap"), ("grime", "rap"),
    ("r&b", "rnb"), ("rnb", "rnb"), ("soul", "rnb"), ("funk", "rnb"), ("country", "country"),
    ("bluegrass", "country"), ("americana", "country"), ("folk", "folk"), ("blues", "blues"),
    ("jazz", "jazz"), ("swing", "jazz"), ("reggae", "reggae"), ("ska", "reggae"),
    ("dancehall", "reggae"), ("electro", "electronic"), ("edm", "electronic"),
    ("house", "electronic"), ("techno", "electronic"), ("dance", "electronic"),
    ("rock", "rock"), ("grunge", "rock"), ("indie", "rock"), ("pop", "pop"),
)


def genre_family(genre: str | None) -> str:
    """Map a free-form genre label to one of :data:`STYLES`' families (``"pop"`` if unknown).

    >>> genre_family("Hip-Hop/Rap"), genre_family("Heavy Metal"), genre_family(None)
    ('rap', 'metal', 'pop')
    """
    if not genre:
        return "pop"
    low = genre.lower()
    for needle, family in _ALIASES:
        if needle in low:
            return family
    return "pop"


def style_for(genre: str | None) -> GenreStyle:
    """The :class:`GenreStyle` for a genre label."""
    return STYLES[genre_family(genre)]
