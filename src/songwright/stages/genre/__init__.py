"""Genre stage: classify the genre of a song's lyrics."""
