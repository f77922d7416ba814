# spanqa — the two set-up commands are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
SHARED := ../shared

.PHONY: install run lint typecheck test test-fast test-no-browser eval bench bench-http train-reader promote-reader clean-data

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

## Serve the API and chat page on 127.0.0.1:8000, indexing seeds/ when the index is empty.
run: install
	$(BIN)/spanqa serve --seed-if-empty

## ruff (lint + format check).
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## mypy over errors, index, qa, train, api, cli (config in pyproject.toml).
typecheck: install
	$(BIN)/mypy

## The whole test suite, real models end to end (browser tests need Chromium: installed when root).
test: install lint typecheck
	@bash scripts/ensure-chromium.sh
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest

## The fast layer only (tests/unit: real code over small fake models, no model weights), about a minute.
test-fast: install
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest tests/unit -q

## Everything but the browser and slow tests.
test-no-browser: install
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -m "not browser and not slow"

## SQuAD dev split (Normans, Packet_switching, Warsaw) with every other context as distractors.
eval: install
	HF_HUB_OFFLINE=1 $(BIN)/spanqa eval $(SHARED)/data/squad/squad-v2-dev-16-articles.json \
		--articles Normans,Packet_switching,Warsaw \
		--corpus $(SHARED)/data/squad/squad-v2-dev-20-articles-contexts.json --out eval-out

bench: install
	HF_HUB_OFFLINE=1 $(BIN)/python -m bench.bench --out bench.json

## SQLite + FAISS against PostgreSQL end to end over HTTP: every SQuAD context through POST /documents,
## dev questions through POST /ask (fewer: make bench-http BENCH_HTTP_ARGS="--contexts 300 --questions 100").
bench-http: install
	HF_HUB_OFFLINE=1 $(BIN)/python -m bench.http_backends --out bench-http.json $(BENCH_HTTP_ARGS)

## Fine-tune the reader: squad train split + all of qa-extra, dev = squad dev split (the dev
## articles are left out of training). Continue a killed run: make train-reader TRAIN_ARGS=--resume
train-reader: install
	HF_HUB_OFFLINE=1 $(BIN)/spanqa train-reader $(SHARED)/data/squad/squad-v2-dev-16-articles.json \
		$(SHARED)/data/qa-extra/*.json \
		--dev $(SHARED)/data/squad/squad-v2-dev-16-articles.json --dev-articles Normans,Packet_switching,Warsaw \
		--max-windows 4 --out runs/reader $(TRAIN_ARGS)

## Make runs/reader the server's reader only if it scores better on the dev split (restart to load it).
promote-reader: install
	HF_HUB_OFFLINE=1 $(BIN)/spanqa reader promote runs/reader

clean-data:
	rm -rf data eval-out bench.json bench-http.json
