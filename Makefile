# The two commands of the quick start: `make run` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
STUDY ?= studies/korea.toml
ARGS ?= --overwrite

MAP_ASSETS := $(VENV)/share/gridsite/map-assets
# Debian packages: headless Chromium and its WebDriver for the map's browser tests.
DEBS := chromium chromium-driver

.PHONY: run test lint types imports pytest bench clean assets debs screenshots

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(MAKE) --no-print-directory debs assets
	touch $(STAMP)

# Debian packages the tests and `make assets` need, installed only when missing (sudo unless root).
debs:
	@missing=$$(for p in $(DEBS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	command -v npm >/dev/null 2>&1 || missing="$$missing npm"; \
	if [ -n "$$(echo $$missing)" ]; then \
	  sudo=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
	  echo "installing Debian packages:" $$missing; \
	  $$sudo apt-get update -q && \
	  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	fi

# The map's scripts and styles (Leaflet and jQuery at the versions folium links), fetched from the
# npm registry into .venv, never committed, so that map.html can inline them and work offline.
assets:
	rm -rf $(MAP_ASSETS).tmp && mkdir -p $(MAP_ASSETS).tmp
	set -e; specs=$$($(BIN)/python -m gridsite.report.mapassets); \
	for spec in $$specs; do \
	  tgz=$$(cd $(MAP_ASSETS).tmp && npm pack --silent "$$spec"); \
	  mkdir -p "$(MAP_ASSETS).tmp/$${spec%@*}"; \
	  tar -xzf "$(MAP_ASSETS).tmp/$$tgz" -C "$(MAP_ASSETS).tmp/$${spec%@*}" --strip-components=1; \
	  rm "$(MAP_ASSETS).tmp/$$tgz"; \
	done
	rm -rf $(MAP_ASSETS) && mv $(MAP_ASSETS).tmp $(MAP_ASSETS)

# The README's screenshots (docs/img) from the Korea run in headless Chromium; Korean names need
# a CJK font, installed here only (the tests do not need it).
screenshots: $(STAMP)
	@dpkg -s fonts-noto-cjk >/dev/null 2>&1 || { \
	  sudo=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
	  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q fonts-noto-cjk; }
	$(BIN)/python docs/make_screenshots.py

run: $(STAMP)
	$(BIN)/gridsite run $(STUDY) $(ARGS)

test: lint types imports pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

types: $(STAMP)
	$(BIN)/mypy

imports: $(STAMP)
	$(BIN)/lint-imports

pytest: $(STAMP)
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) build src/*.egg-info .mypy_cache .pytest_cache .ruff_cache
