# One entry point for a newcomer with only Python: `make demo`, `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The CPU wheel of torch is pinned here; a CUDA user installs their own torch into
# the venv first (see README), and this pin is then already satisfied or skipped.
TORCH ?= torch==2.13.0
# The PDE on S^2 (the `sphere` extra): built from its sdist against the torch above (needs g++, ~1 min);
# the 0.9 wheels do not load with torch 2.13.
TORCH_HARMONICS ?= torch-harmonics==0.8.0

.PHONY: install demo test test-slow bench clean

$(BIN)/attnflow: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -c "import torch_harmonics" 2>/dev/null || $(BIN)/python -m pip install --quiet --no-build-isolation "$(TORCH_HARMONICS)"
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

install: $(BIN)/attnflow

demo: install
	$(BIN)/attnflow reproduce --quick --out results/reproduce

test: install
	$(BIN)/python -m pytest -n 2 -q

test-slow: install
	$(BIN)/python -m pytest -n 2 -q -m slow

bench: install
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) results

# The documentation site: installs the `docs` extra into the venv, executes the tutorials and
# builds site/ with `mkdocs build --strict` (no network needed by the build or by the site).
.PHONY: docs
$(VENV)/.docs-installed: $(BIN)/attnflow pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[docs]"
	touch $@

docs: $(VENV)/.docs-installed
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict
