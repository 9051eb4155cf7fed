# Two commands on a fresh machine:  make run  (API on SQLite with demo data)  and  make test
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 5000

REDOC_VERSION ?= 2.5.4
REDOC_DIR := ats/static/redoc

.PHONY: install run test bench bench-reports bench-upload bench-erasure bench-webhooks redoc clean

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

run: install  ## the API on http://127.0.0.1:5000 in debug mode, SQLite, mail printed to the console, demo data
	$(BIN)/flask db upgrade
	$(BIN)/flask ats seed
	$(BIN)/flask run --debug --port $(PORT)

test: install  ## the suite on SQLite; set TEST_DATABASE_URL=postgresql://… for PostgreSQL
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: install  ## the load benchmark at 1,000,000 applications (PostgreSQL; about 5 minutes)
	$(BIN)/python bench/run.py $(BENCH_ARGS)

bench-reports: install  ## the reports at 1,000,000 applications, for companies of every size and for all (PostgreSQL; about 7 minutes)
	$(BIN)/python bench/reports.py $(BENCH_ARGS)

bench-upload: install  ## memory of one worker per 10 MiB upload and download (SQLite; BENCH_ARGS="--database-url postgresql://… --s3")
	$(BIN)/python bench/upload_memory.py $(BENCH_ARGS)

bench-erasure: install  ## erasing candidates at scale, with every statement's plan (PostgreSQL: DATABASE_URL of a loaded database it may erase from)
	$(BIN)/python bench/erasure.py $(BENCH_ARGS)

bench-webhooks: install  ## webhook deliveries per second of one worker to a local receiver (SQLite; BENCH_ARGS=N deliveries, DATABASE_URL=postgresql://… an empty database)
	$(BIN)/python bench/webhook_throughput.py $(BENCH_ARGS)

redoc:  ## re-vendor ReDoc's script for /api/redoc from npm (redoc@$(REDOC_VERSION), MIT) into ats/static/redoc/
	tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	  (cd "$$tmp" && npm pack --silent "redoc@$(REDOC_VERSION)" >/dev/null && tar -xzf redoc-*.tgz) && \
	  cp "$$tmp/package/bundles/redoc.standalone.js" "$$tmp/package/bundles/redoc.standalone.js.LICENSE.txt" \
	     "$$tmp/package/LICENSE" $(REDOC_DIR)/

clean:
	rm -rf $(VENV) instance .pytest_cache
