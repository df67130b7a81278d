"""Model cards (README.md) for the shipped chord models: data, metrics, licences, rebuild."""

from __future__ import annotations

import json
from pathlib import Path

DATA_LICENCES = """\
- songbook (lyric-aligned fine-tuning, evaluation): written for this project; free to use for
  anything.
- McGill Billboard 2.0 (chord-only pre-training): CC0 (cite Burgoyne et al., ISMIR 2011).
- iReal Pro charts (chord-only pre-training): user-contributed charts from a GPL-3.0
  repository's test data, used here for training and testing only; no chart is redistributed,
  only weights learned from key-relative chord sequences.
"""

REBUILD = """\
```bash
songwright train chords --out src/songwright/assets/chords-seq2seq
songwright train reward --seq2seq src/songwright/assets/chords-seq2seq \\
    --out src/songwright/assets/chords-reward
songwright train policy --seq2seq src/songwright/assets/chords-seq2seq \\
    --reward src/songwright/assets/chords-reward --out src/songwright/assets/chords-policy
songwright evaluate chords --data ../shared/data --model default --json
```
(corpora from `$SONGWRIGHT_DATA` or `../shared/data`; CPU, about 30 minutes in all on 2 cores.)
"""


def write_model_card(run_dir: str | Path, title: str, summary: str, metrics: dict) -> Path:
    """Write ``README.md`` into ``run_dir`` and return its path."""
    p = Path(run_dir) / "README.md"
    p.write_text(f"""# {title}

{summary}

## Metrics
```json
{json.dumps(metrics, indent=2, sort_keys=True)}
```

## Data and licences
{DATA_LICENCES}
## Rebuild
{REBUILD}
## Model licence
Apache-2.0, like songwright. Files: `weights.safetensors`, `config.json`, `vocab.json`,
`metrics.json` (no pickle).
""", encoding="utf-8")
    return p
