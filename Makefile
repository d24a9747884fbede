# netsim: `make run` runs the default scenario end to end; `make test` runs the tests.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
SCENARIO ?= scenarios/urban_6g.yaml
OUT    ?= outputs/urban_6g

.PHONY: run test lint bench bench-long clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# The CPU wheel of torch first: a bare `torch` would pull a multi-GB CUDA build.
	$(BIN)/pip install --quiet torch==2.13.0

$(VENV)/.installed: $(BIN)/activate pyproject.toml
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

run: $(VENV)/.installed
	$(BIN)/netsim run $(SCENARIO) --out $(OUT) --overwrite

test: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/pytest -n 2

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .

bench: $(VENV)/.installed-dev
	$(BIN)/python benchmarks/engine_throughput.py
	$(BIN)/python benchmarks/scale.py
	$(BIN)/python benchmarks/peers.py
	$(BIN)/python benchmarks/mechanisms.py
	$(BIN)/python benchmarks/sweep_scaling.py

bench-long: $(VENV)/.installed-dev
	$(BIN)/python benchmarks/scale.py --large
	$(BIN)/python benchmarks/long_run_memory.py
	$(BIN)/python benchmarks/training_speed.py

clean:
	rm -rf $(VENV) outputs
