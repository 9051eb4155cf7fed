# Two commands on a fresh machine:  make run  (API on SQLite with demo data)  and  make test
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 5000

.PHONY: install run test bench clean

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

run: install  ## the API on http://127.0.0.1:5000, SQLite, mail printed to the console, demo data
	$(BIN)/flask db upgrade
	$(BIN)/flask ats seed
	$(BIN)/flask run --port $(PORT)

test: install  ## the suite on SQLite; set TEST_DATABASE_URL=postgresql://… for PostgreSQL
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: install  ## the load benchmark at 1,000,000 applications (PostgreSQL; about 5 minutes)
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) instance .pytest_cache
