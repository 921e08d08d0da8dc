# MotionLex: `make run` starts the app, `make test` runs the whole suite. Both set up from nothing.
PY      := .venv/bin/python
STAMP   := .venv/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export GRADIO_ANALYTICS_ENABLED := False
# PyTorch's transparent huge pages: ~20% faster CPU training steps measured on the dev machines.
export THP_MEM_ALLOC_ENABLE := 1

.PHONY: run test bench checkpoint checkpoint-open realign need-bandai generators ship setup system-deps clean

setup: $(STAMP)

$(STAMP): requirements.txt
	test -x $(PY) || python3 -m venv .venv
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(STAMP)

# Debian packages: Chromium for the browser tests (driven by playwright) and headless EGL/GL for rendering
# skeletons with pyrender (engine/render.py; without them it falls back to matplotlib). Installed only when
# running as root and missing, so a user without root still gets `make run`.
SYSTEM_PACKAGES := chromium fonts-dejavu-core libegl1 libegl-mesa0 libgl1 libgles2
system-deps:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	    ! dpkg -s $(SYSTEM_PACKAGES) >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SYSTEM_PACKAGES) >/dev/null; \
	fi

run: setup
	$(PY) launch.py $(ARGS)

test: setup system-deps
	$(PY) -m pytest -q

bench: setup
	$(PY) bench/run_all.py

# The shipped default model: the tiny preset trained on the procedural library and Bandai-Namco dataset 2
# together (joint-dataset training), with real motion-description text in LexMLM when TEXT names it, then its
# motion side aligned further with the text side frozen (phase `align`) and its caption decoder re-tuned;
# exported as float16 weights with the default library's encoded index, its evaluation on both test
# splits and its model card. The model inherits Bandai's CC BY-NC 4.0 licence (see MODEL.md);
# `make checkpoint-open` is the procedural-only recipe for a model free of that restriction.
#   make checkpoint BANDAI=/data/bandai-namco-dataset-2-bvh.tar.xz [TEXT=kit-sentences.txt,cmu.tsv]
BANDAI ?=
TEXT   ?=
RUN    ?= runs/default
TEXT_SET = $(if $(TEXT),--set data.text_files=$(TEXT),)

checkpoint: setup need-bandai
	$(PY) -m engine train --data synthetic,bandai:$(BANDAI) --preset tiny --phases all --out $(RUN) $(TEXT_SET) --resume
	$(MAKE) realign INIT=$(RUN) CARD=no
	$(MAKE) generators EVAL_DATA="synthetic bandai:$(BANDAI)"

# The motion side again over a finished lexical run (INIT), keeping the shipped generators: `align` trains the
# motion encoder only, so what a generator's condition reads is unchanged. For a change to the procedural library
# or to `align` itself; ~25 minutes on 2 cores, then the model card (~20 more).
#   make realign BANDAI=... INIT=runs/default [TEXT=...]
INIT ?= $(RUN)
realign: setup need-bandai
	$(PY) -m engine train --data synthetic,bandai:$(BANDAI) --preset tiny --init $(INIT) --phases align,caption \
		--out $(INIT)-aligned $(TEXT_SET) --resume
	$(MAKE) ship RUN=$(INIT)-aligned EVAL_DATA="synthetic bandai:$(BANDAI)"

need-bandai:
	@if [ -z "$(BANDAI)" ] || [ ! -e "$(BANDAI)" ]; then \
		echo "make $(MAKECMDGOALS): BANDAI=... must name the Bandai-Namco dataset 2 archive or folder (got '$(BANDAI)');"; \
		echo "  e.g. make checkpoint BANDAI=/data/bandai-namco-dataset-2-bvh.tar.xz, or make checkpoint-open for the procedural-only model"; \
		exit 2; fi

checkpoint-open: setup
	$(PY) -m engine train --data synthetic --preset tiny --phases all --out runs/open --set data.extra_text=false --resume
	$(MAKE) ship RUN=runs/open CARD=no
	$(MAKE) generators GEN_RUN=runs/open-generators EVAL_DATA=synthetic

# The text-to-motion half on top of the shipped lexical model: the independent evaluator, the base generator and
# its SoPo tuning, trained on the procedural library conditioned on checkpoints/default as served (--base), then
# added to it (export --generation-only: its lexical model, index and manifest stay as they are) and the model
# card re-evaluated. ~20 + 30 + 30 minutes on 2 cores under the tiny preset.
GEN_RUN   ?= runs/generators
EVAL_DATA ?= synthetic
generators: setup
	$(PY) -m engine train --data synthetic --preset tiny --phases evaluator,generator,sopo --base checkpoints/default --out $(GEN_RUN) --resume
	$(PY) -m engine export --checkpoint $(GEN_RUN) --out checkpoints/default --generation-only
	$(PY) bench/model_card.py --checkpoint checkpoints/default --data $(EVAL_DATA) --merge

# Export a finished run into checkpoints/default with the encoded default library, eval.json and MODEL.md
# (CARD=no leaves the model card to a later step, as `make checkpoint` does: `make generators` writes it).
ship: setup
	$(PY) -m engine export --checkpoint $(RUN) --out checkpoints/default
	$(PY) -m engine index build --checkpoint checkpoints/default --library synthetic --ship
	$(if $(filter no,$(CARD)),,$(PY) bench/model_card.py --checkpoint checkpoints/default --data $(EVAL_DATA))

clean:
	rm -rf .venv .pytest_cache
