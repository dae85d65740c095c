# Everything a fresh clone needs: `make run` starts the service, `make test` runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PACKAGES := eventstore projections adapters
# each target installs what it needs: the service alone, then the test tools, then the baselines
RUNTIME := $(VENV)/.runtime-stamp
DEV := $(VENV)/.dev-stamp
BENCH := $(VENV)/.bench-stamp

.PHONY: run test lint typecheck unit bench clean fuzz

$(RUNTIME): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -e .
	touch $@

$(DEV): $(RUNTIME)
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

$(BENCH): $(DEV)
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	touch $@

run: $(RUNTIME)
	$(BIN)/python -m adapters.cli.first_run
	$(BIN)/parako-config serve

test: lint typecheck unit

lint: $(DEV)
	$(BIN)/ruff check $(PACKAGES) tests bench
	$(BIN)/ruff format --check $(PACKAGES) tests bench

typecheck: $(DEV)
	$(BIN)/mypy --strict $(PACKAGES) tests bench

unit: $(DEV)
	$(BIN)/pytest -q

bench: $(BENCH)
	$(BIN)/python -m bench

# Every hypothesis-driven test (properties, the stateful store machine, HTTP fuzzing; pytest -m
# hypothesis) with HYPOTHESIS_PROFILE=fuzz, round after round until FUZZ_SECONDS have passed;
# prints the examples each round ran (from --hypothesis-show-statistics) and the total. A failing
# round stops the run; its log (.hypothesis/fuzz-round-N.log) has the shrunk example.
FUZZ_SECONDS ?= 600

fuzz: $(DEV)
	@start=$$(date +%s); round=0; total=0; \
	while [ $$(( $$(date +%s) - start )) -lt $(FUZZ_SECONDS) ]; do \
		round=$$((round + 1)); log=.hypothesis/fuzz-round-$$round.log; mkdir -p .hypothesis; \
		HYPOTHESIS_PROFILE=fuzz $(BIN)/pytest -q -m hypothesis --hypothesis-show-statistics \
			tests > $$log 2>&1; status=$$?; \
		ran=$$(awk '/ passing, .* failing, and .* invalid/ { n += $$2 + $$4 + $$7 } END { print n + 0 }' $$log); \
		total=$$((total + ran)); \
		echo "fuzz round $$round: $$ran examples; $$(grep -E '[0-9]+ (passed|failed)' $$log | tail -n 1) ($$log)"; \
		if [ $$status -ne 0 ]; then echo "fuzz: round $$round failed, see $$log"; exit $$status; fi; \
	done; \
	echo "fuzz: $$total examples in $$round rounds, $$(( $$(date +%s) - start )) s"

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
