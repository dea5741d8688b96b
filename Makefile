# Libra-Guard platform. Two commands after the clone:
#   make demo   # create .venv if missing, install, run the whole KFP pipeline on the embedded default
#   make test   # install if needed, lint, run the tests
#   make test-fast  # the edit-run loop: no Ray, no KFP runs, no image builds (under 3 minutes)
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install demo test test-fast lint benchmark-quality clean image kind-up kind-demo

# Reinstall only when the project's dependency list changes. torch is pinned to the CPU wheel
# kept on disk (pyproject.toml says why).
$(STAMP): pyproject.toml infra/tools/install_helm.py
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) (Python 3.11)"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python infra/tools/install_helm.py --bin-dir $(BIN)
	@touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/libra-guard run

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: install lint
	$(BIN)/pytest

# Markers come from tests/conftest.py (by the engine fixtures a test uses) and the test files.
FAST_TESTS := not slow and not ray and not kfp and not image
test-fast: install
	$(BIN)/ruff check .
	$(BIN)/pytest -m "$(FAST_TESTS)" -q

benchmark-quality: install
	$(BIN)/python benchmarks/quality.py

# Kubernetes (issue: charts, kind, image). `make image` builds infra/Dockerfile; kind-up creates a
# kind cluster with KubeRay, KFP, libra-platform and libra-guard; kind-demo submits the pipeline
# there and prints the UIs' URLs. They need docker, kind and kubectl; Helm comes from make install.
image:
	infra/scripts/build-image.sh

kind-up: install
	PATH="$(CURDIR)/$(BIN):$$PATH" infra/scripts/kind-up.sh

kind-demo: install
	PATH="$(CURDIR)/$(BIN):$$PATH" infra/scripts/kind-demo.sh

clean:
	rm -rf .libra build *.egg-info
