# The commands the README promises: `make demo`, `make test` and `make docs`.
# Each creates its virtualenv on first use; nothing needs to be installed by hand.

PYTHON ?= python3
VENV ?= .venv
AIRFLOW_VERSION ?= 3.3.2
PIP = $(VENV)/bin/pip
STAMP = $(VENV)/.installed-$(AIRFLOW_VERSION)

DOCS_STAMP = $(VENV)/.installed-docs

.PHONY: demo test lint docs venv clean scaleout

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet "apache-airflow==$(AIRFLOW_VERSION)" -e ".[dev]"
	touch $(STAMP)

test: $(STAMP)
	$(VENV)/bin/python -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# The documentation site (mkdocs, strict: any warning fails) into build/docs/.
$(DOCS_STAMP): $(STAMP) pyproject.toml
	$(PIP) install --quiet -e ".[docs]"
	touch $(DOCS_STAMP)

docs: $(DOCS_STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

# Celery + Redis + PostgreSQL + two triggerers (installs redis-server and the Celery provider first).
scaleout: $(STAMP)
	bash tests/deployment/scaleout/run.sh $(VENV)

demo: $(STAMP)
	$(VENV)/bin/python scripts/demo.py

clean:
	rm -rf $(VENV) .venv-* .demo .pytest_cache .mypy_cache .ruff_cache
