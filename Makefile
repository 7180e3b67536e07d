# Two entry points for a fresh Debian machine with Python 3.11 and make:
#   make serve  - set everything up, build the index of the shipped corpus, start the service and web chat
#   make test   - set everything up and run the whole test suite (what CI runs)
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
STAMP  := $(VENV)/.installed

.PHONY: setup serve index test test-slow bench clean browser

$(PY):
	$(PYTHON) -m venv $(VENV)

# torch first: ==2.13.0 resolves to the local CPU wheel; anything else would pull CUDA packages.
$(STAMP): pyproject.toml | $(PY)
	$(PIP) install --upgrade pip
	$(PIP) install torch==2.13.0
	$(PIP) install -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

index: setup
	$(VENV)/bin/citeqa index

serve: index
	$(VENV)/bin/citeqa serve

# Debian's chromium for the browser tests (never `playwright install`: it downloads a browser).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update && apt-get install -y chromium; \
	  else echo "chromium missing: run 'sudo apt-get install -y chromium' for the browser tests"; fi; }

test: setup browser
	$(PY) -m pytest

# Public benchmarks (SciFact): minutes, not part of the default run.
test-slow: setup
	$(PY) -m pytest -m slow

clean:
	rm -rf var .pytest_cache test-artifacts
