# Outreach: `make run` serves the demo, `make test` runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
JS_STAMP := tests/feeds/js/node_modules/.installed-stamp
AXE_STAMP := tests/browser/node_modules/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: messages compile-messages install run migrate fixtures serve test lint typecheck pytest js libical chromium publish bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(MAKE) --no-print-directory compile-messages
	touch $(STAMP)

install: $(STAMP)

# The interface's words: `make messages` gathers every marked string into the catalogues
# (new ones untranslated, gone ones dropped); the install compiles them.
LOCALE := src/outreach/locale
messages:
	$(BIN)/pybabel -q extract -F $(LOCALE)/babel.cfg -o $(LOCALE)/messages.pot --sort-by-file \
		--add-comments=Translators: --no-wrap --omit-header -k lazy_gettext -k _ .
	$(BIN)/pybabel -q update -i $(LOCALE)/messages.pot -d $(LOCALE) --no-wrap \
		--no-fuzzy-matching --ignore-obsolete

compile-messages:
	$(BIN)/pybabel -q compile -d $(LOCALE)

migrate: install
	$(BIN)/outreach migrate

fixtures: migrate
	$(BIN)/outreach load-fixtures --print-logins

serve: install
	$(BIN)/outreach serve --host $(HOST) --port $(PORT)

run: fixtures serve

# Mozilla's ical.js (Thunderbird's parser) checks our feeds in the tests; skipped without Node.js.
$(JS_STAMP): tests/feeds/js/package.json tests/feeds/js/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --silent --no-audit --no-fund --prefix tests/feeds/js && touch $(JS_STAMP); \
	else echo "NOTE: npm not found: the ical.js cross-checks will be skipped"; fi

# axe-core checks every public page in the browser tests; skipped (with a note) without npm.
$(AXE_STAMP): tests/browser/package.json tests/browser/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --silent --no-audit --no-fund --prefix tests/browser && touch $(AXE_STAMP); \
	else echo "NOTE: npm not found: the browser tests (axe-core) will be skipped"; fi

js:
	@if [ -f tests/feeds/js/package.json ]; then $(MAKE) --no-print-directory $(JS_STAMP); fi
	@if [ -f tests/browser/package.json ]; then $(MAKE) --no-print-directory $(AXE_STAMP); fi

# libical (the parser of Evolution and KDE) checks our feeds in the tests through ctypes;
# installed with apt-get where we may, skipped (with a note) where not.
LIBICAL_NOTE := NOTE: libical3 not installed: the libical cross-checks are skipped
libical:
	@if { ldconfig -p 2>/dev/null || /sbin/ldconfig -p 2>/dev/null; } | grep -q 'libical\.so\.3 '; then :; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get install -y -qq libical3 >/dev/null 2>&1 \
		|| { apt-get update -qq && apt-get install -y -qq libical3 >/dev/null; } \
		|| echo "$(LIBICAL_NOTE)"; \
	else echo "$(LIBICAL_NOTE)"; fi

# Debian's Chromium, which playwright drives in the browser tests (no browser download);
# installed with apt-get where we may, the browser tests skipped (with a note) where not.
CHROMIUM_NOTE := NOTE: /usr/bin/chromium not installed: the browser tests are skipped
chromium:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get install -y -qq chromium >/dev/null 2>&1 \
		|| { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } \
		|| echo "$(CHROMIUM_NOTE)"; \
	else echo "$(CHROMIUM_NOTE)"; fi

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: install
	$(BIN)/mypy

pytest: install js libical chromium
	@if [ -z "$$OUTREACH_TEST_POSTGRES_URL" ]; then \
		echo "NOTE: OUTREACH_TEST_POSTGRES_URL is not set: the PostgreSQL pass is skipped (see the skip summary)"; \
	fi
	@# Two workers share the two cores; what measures time runs after them, alone. Both
	@# passes copy one migrated database per backend, made once (tests/databases.py) and
	@# dropped at the end; Python's bytecode cache stays on, so the tests' many processes
	@# (workers, the outreach command, servers) compile the code once, not each time. The
	@# workers take the browser tests first, then the biggest groups (tests/conftest.py).
	@templates=$$(mktemp -d -t outreach-templates-XXXXXXXX) && \
	export OUTREACH_TEST_TEMPLATES="$$templates" PYTHONDONTWRITEBYTECODE= && \
	trap '$(BIN)/python -m tests.databases end-run "$$templates"' EXIT && \
	echo '$(BIN)/pytest -n 2 --dist loadgroup --no-loadscope-reorder -m "not alone"' && \
	$(BIN)/pytest -n 2 --dist loadgroup --no-loadscope-reorder -m "not alone" && \
	echo '$(BIN)/pytest -m alone' && \
	$(BIN)/pytest -m alone

test: lint typecheck pytest

publish: migrate
	$(BIN)/outreach publish --out calendars/

bench: install
	$(BIN)/python bench/conflicts.py
	$(BIN)/python bench/feeds.py
	$(BIN)/python bench/access_log.py
	$(BIN)/python bench/reports.py
	$(BIN)/python bench/routes.py
	$(BIN)/python bench/bookmobile.py
	$(BIN)/python bench/registration.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache tests/feeds/js/node_modules tests/browser/node_modules
