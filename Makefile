# The README's two commands are `make demo` and `make test`; everything they need is installed here.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck unit clean bench bench-smoke soak lock

# web/: pinned GraphiQL (its postinstall copies the bundles into edge/static/vendor/, which the
# gateway serves offline), the graphql-http audit and playwright-core for the browser test.
# requirements.lock pins every Python package, dependencies of dependencies too, at the versions
# the tests ran with; pyproject.toml keeps the ranges, and pip installs them within the pins.
$(STAMP): pyproject.toml requirements.lock web/package.json web/package-lock.json
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]' -c requirements.lock
	cd web && npm ci --no-audit --no-fund --loglevel=error
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/edgegraph demo

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy --strict federation schema resolvers backends edge registry soak gateway.py demo.py devloop.py bench tests

unit: $(STAMP)
	$(BIN)/pytest

test: lint typecheck unit

# bench/: edgegraph beside @apollo/gateway and @graphql-hive/gateway (installs wrk and bench/'s
# pinned npm packages itself); writes bench/results/latest.{md,json}. Not part of `make test`.
bench: $(STAMP)
	$(BIN)/python -m bench.run

bench-smoke: $(STAMP)
	$(BIN)/python -m bench.run --smoke

# soak/: 10 minutes of mixed load at a production gateway in front of the demo, on loopback;
# prints requests, statuses and the gateway's RSS (soak/README.md). Not part of `make test`.
soak: $(STAMP)
	$(BIN)/python -m soak.run soak --minutes 10

# After a change to pyproject.toml's dependencies: install its ranges unpinned, then pin what
# was installed (tests/test_lock.py checks the pins against the ranges and the .venv).
lock:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -e '.[dev]'
	(sed -n '1,3p' requirements.lock; $(BIN)/pip freeze --exclude-editable) > requirements.lock.new
	mv requirements.lock.new requirements.lock

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
