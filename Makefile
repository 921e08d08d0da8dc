# MotionLex: `make run` starts the app, `make test` runs the whole suite. Both set up from nothing.
PY      := .venv/bin/python
STAMP   := .venv/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export GRADIO_ANALYTICS_ENABLED := False
# PyTorch's transparent huge pages: ~20% faster CPU training steps measured on the dev machines.
export THP_MEM_ALLOC_ENABLE := 1

.PHONY: run test bench checkpoint setup system-deps clean

setup: $(STAMP)

$(STAMP): requirements.txt
	test -x $(PY) || python3 -m venv .venv
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(STAMP)

# Debian packages for the browser tests (Chromium driven by playwright); installed only when
# running as root and missing, so a user without root still gets `make run`.
system-deps:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >/dev/null; \
	fi

run: setup
	$(PY) launch.py $(ARGS)

test: setup system-deps
	$(PY) -m pytest -q

bench: setup
	$(PY) bench/run_all.py

# The shipped default model: the tiny preset trained on the procedural library only (no outside
# text either), exported as float16 weights, with its evaluation beside it.
checkpoint: setup
	$(PY) -m engine train --data synthetic --preset tiny --phases all --out runs/default --set data.extra_text=false \
		--set model.lexicon=restricted --set train.cmmm.steps=800 --set train.lexmmm.steps=500 --set train.lexcmlp.steps=300
	$(PY) -m engine export --checkpoint runs/default --out checkpoints/default
	$(PY) -m engine eval --checkpoint checkpoints/default --data synthetic --split test --json > checkpoints/default/eval.json.tmp
	mv checkpoints/default/eval.json.tmp checkpoints/default/eval.json

clean:
	rm -rf .venv .pytest_cache
