# songwright: the README's two set-up commands are `make song` and `make test`.
.PHONY: setup setup-llamacpp song test test-slow lint bench bench-lm bench-genre assets clean

PY := .venv/bin/python

setup:
	bash scripts/setup.sh

# optional: llama.cpp backend for the lyrics model (an ~8 minute compile)
setup-llamacpp: setup
	bash scripts/setup_llamacpp.sh

song: setup
	$(PY) -m songwright.cli generate --title "Two Lane Summer" --artist "The Gravel Saints" \
	  --genre country --era 1990s --verse-prompt "driving home past the grain elevator at dusk" \
	  --seed 7 --out out

test: setup
	$(PY) -m pytest -q

test-slow: setup
	$(PY) -m pytest -q -m slow

lint: setup
	$(PY) -m ruff check src tests

bench: setup
	$(PY) bench/bench_generate.py --out bench/report.json

# genre models: held-out F1, songs/s, cached vs re-encoded epochs (about 6 minutes)
bench-genre: setup
	$(PY) bench/bench_genre.py --out bench/genre.json

bench-lm: setup
	$(PY) bench/bench_lm.py --out bench/lm.json

assets: setup
	$(PY) -m songwright.cli train baselines

clean:
	rm -rf out .pytest_cache
