# The two commands a newcomer needs: `make run` (the app) and `make test` (the tests).
# Each creates or updates the virtual environment first: requirements.txt and requirements-test.txt
# at the exact versions the tests last passed with (constraints.txt), and this checkout itself
# (editable, so `senet-viz` and `import senet_viz` work from any folder).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.requirements-installed

.PHONY: run test venv lint bench classroom clean-venv lock check-dist messages

$(STAMP): requirements.txt requirements-test.txt constraints.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt -r requirements-test.txt -c constraints.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(PY) -m streamlit run app.py

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(PY) -m ruff check .

# A lecture hall: Redis, PROCESSES app processes and nginx with sticky sessions; Ctrl-C stops all.
classroom: $(STAMP)
	PROCESSES=$(or $(PROCESSES),2) PY=$(PY) scripts/classroom.sh

bench: $(STAMP)
	$(PY) benchmarks/run.py

clean-venv:
	rm -rf $(VENV)

# The newest versions the ranges in requirements*.txt allow, pinned into constraints.txt, then the
# tests with exactly those: `make lock` (commit constraints.txt when they pass).
lock:
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/pip install --quiet --disable-pip-version-check -r requirements.txt -r requirements-test.txt
	( echo "# The exact versions 'make test' last passed with (make lock refreshes this file and runs the tests)."; \
	  .venv-lock/bin/pip freeze --exclude-editable | grep -v -E '^(pip|setuptools|wheel)==' ) > constraints.txt
	rm -rf .venv-lock
	$(MAKE) test

# The message catalogue: every sentence of the code into senet_viz/locale/senet_viz.pot, and the
# Korean catalogue updated from it (new sentences arrive untranslated; tests/test_i18n.py fails
# until each has its Korean).
messages: $(STAMP)
	$(VENV)/bin/pybabel extract -F babel.cfg -k _ -k T -k N_ -k ngettext:1,2 -k Tn:1,2 --no-wrap --sort-by-file \
	  --no-location --omit-header -o senet_viz/locale/senet_viz.pot .
	$(VENV)/bin/pybabel update -i senet_viz/locale/senet_viz.pot -d senet_viz/locale -D senet_viz -l ko --no-wrap \
	  --omit-header --ignore-obsolete

# The wheel as a practitioner installs it, checked from outside the checkout (CI runs this).
check-dist: $(STAMP)
	PY=$(PY) PYTHON=$(PYTHON) scripts/check_dist.sh
