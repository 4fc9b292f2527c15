# fnac-connector: `make demo` brings the whole product up; `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip

.PHONY: demo serve test venv venv-test lint bench clean help

help:
	@echo "make demo   - install, migrate, start sandbox + django-q cluster + web server with a connected demo store"
	@echo "make serve  - production mode: migrate, collectstatic, check --deploy, then gunicorn + django-q cluster"
	@echo "make test   - run the whole test suite (SQLite, or DATABASE_URL)"
	@echo "make lint   - ruff and the import contracts (lint-imports)"
	@echo "make bench  - run the benchmarks in bench/"

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed requirements-test.txt
	$(PIP) install --quiet -r requirements-test.txt
	touch $@

venv: $(VENV)/.installed
venv-test: $(VENV)/.installed-test

demo: venv
	bash scripts/demo.sh

serve: venv
	bash scripts/serve.sh

test: venv-test
	$(PY) -m pytest -n 2 -p no:cacheprovider $(PYTEST_ARGS)

lint: venv-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

bench: venv-test
	$(PY) bench/catalogue_import.py
	$(PY) bench/orders_import.py
	$(PY) bench/stock_push.py
	$(PY) bench/fulfilment_ship.py

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-wal db.sqlite3-shm .demo
