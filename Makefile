# The two commands of the README: `make demo` and `make test`. Both build .venv from pyproject.toml first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint install clean chromium

# Python keeps compiled modules even where the environment says not to (PYTHONDONTWRITEBYTECODE=1 here):
# otherwise each of the suite's hundred dex processes compiles dex and its dependencies from source again.
unexport PYTHONDONTWRITEBYTECODE

# uv resolves and installs the dependencies in about a third of pip's time (13 s against 26 s here), and
# compiles them as it installs.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet uv
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -e '.[dev,bench]'
	touch $(STAMP)

install: $(STAMP)

# Serves the console after the demo batch until Ctrl-C; `dex demo --exit` stops after the batch.
demo: $(STAMP)
	$(BIN)/dex demo

# The console's browser tests drive Debian's Chromium (never a browser downloaded by Playwright).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
chromium:
	@command -v chromium >/dev/null || ($(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q chromium)

# The type checker runs beside the tests, while they start their servers; the command fails if either fails.
# Three test workers on two cores: many tests wait on subprocesses and servers, and a third worker fills
# those waits (327-344 s against 362-372 s with two).
test: $(STAMP) chromium
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/lint-imports
	$(BIN)/mypy src/dex & mypy=$$!; \
	$(BIN)/pytest -n 3 --dist loadgroup -q; tests=$$?; \
	wait $$mypy && exit $$tests

lint: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/lint-imports
	$(BIN)/mypy src/dex

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
