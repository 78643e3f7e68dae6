# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_REPO ?= /tmp/tiercode-demo
DEMO_TASK ?= add a function word_count(text) to textutils.py that returns how many words the text has, where words are separated by any whitespace

.PHONY: demo test check install models browser clean-demo

# Dependencies are installed once per pyproject.toml; the package itself is re-linked
# every time so that a venv cached outside the checkout points at this checkout.
$(BIN)/.deps: pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev,ray]'
	touch $@

install: $(BIN)/.deps
	$(BIN)/python -m pip install -q --no-deps -e .

models: install
	$(BIN)/tiercode models pull qwen2.5-coder-0.5b qwen2.5-coder-1.5b smollm2-135m

demo: models
	rm -rf $(DEMO_REPO) && mkdir -p $(DEMO_REPO)
	cp -r tests/sample_repo/. $(DEMO_REPO)/
	git -C $(DEMO_REPO) init -q -b main
	git -C $(DEMO_REPO) -c user.name=demo -c user.email=demo@localhost add -A
	git -C $(DEMO_REPO) -c user.name=demo -c user.email=demo@localhost commit -q -m "sample repo"
	@# Exit 1 is an outcome, not a broken demo: the agent could not verify a change and said
	@# so, leaving the branch as it was. Any other non-zero code is a set-up failure.
	$(BIN)/tiercode run "$(DEMO_TASK)" --repo $(DEMO_REPO) || test $$? -eq 1
	git -C $(DEMO_REPO) log --stat -n 3 --format='%h %s'

# The ROI report's test opens its page in a real headless browser: Debian's Chromium,
# installed once when missing (a no-op when it is there). Without apt-get the test skips.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	if command -v apt-get >/dev/null 2>&1; then \
		echo "installing chromium for the report's browser test"; \
		$(SUDO) apt-get update -q && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
	else echo "no apt-get: the report's browser test will be skipped"; fi

test: models browser
	$(BIN)/python -m pytest

# The import contracts (pyproject.toml) run first, for a quick answer; the tests hold them
# too (tests/test_layers.py, with mypy --strict), so `make test` and CI enforce them as well.
check: install browser
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/python -m pytest

# Peer agents for side-by-side benchmarks (bench/peers/), each in its own venv so that
# none of their pinned dependencies reach .venv. aider 0.86.x is the reference version.
AIDER_VENV ?= .venv-aider
AIDER_SPEC ?= aider-chat>=0.86.2,<0.87

.PHONY: peers

$(AIDER_VENV)/.deps: Makefile
	$(PYTHON) -m venv $(AIDER_VENV)
	$(AIDER_VENV)/bin/python -m pip install -q '$(AIDER_SPEC)'
	touch $@

peers: install $(AIDER_VENV)/.deps
	$(AIDER_VENV)/bin/python -c "import importlib.metadata as m; print('aider-chat', m.version('aider-chat'))"
