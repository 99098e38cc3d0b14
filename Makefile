# cropmrv — two commands: `make demo` and `make test`. Everything they need is installed here.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
APT_PACKAGES := postgresql-15 postgresql-15-postgis-3 gdal-bin chromium fonts-dejavu-core
PYTEST_ARGS ?=

.PHONY: setup system venv test lint demo serve bench clean

setup: system venv

# System packages: Debian's PostgreSQL + PostGIS (embedded cluster), GDAL (ogr2ogr peer and OAPIF client
# in tests), Chromium (map tests). Installed through apt when root; otherwise one clear message.
system:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	$(PYTHON) -c 'import ensurepip, venv' >/dev/null 2>&1 || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing system packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  else \
	    echo "cropmrv needs these Debian packages:$$missing"; \
	    echo "install them with: sudo apt-get install$$missing"; exit 1; \
	  fi; \
	fi

$(STAMP): pyproject.toml constraints.txt setup.py
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --upgrade pip >/dev/null
	$(PY) -m pip install -q -c constraints.txt -e '.[test]'
	@touch $(STAMP)

venv: $(STAMP)

lint: venv
	$(VENV)/bin/ruff check .

test: setup lint
	$(VENV)/bin/pytest -q $(PYTEST_ARGS)

demo: setup
	$(VENV)/bin/cropmrv demo

serve: setup
	$(VENV)/bin/cropmrv serve

bench: setup
	$(PY) benchmarks/ingest.py && $(PY) benchmarks/estimate.py && $(PY) benchmarks/api.py

clean:
	rm -rf $(VENV) build *.egg-info
