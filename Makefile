# The two commands a newcomer needs: `make run` (the app) and `make test` (the tests).
# Each creates or updates the virtual environment from requirements.txt first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.requirements-installed

.PHONY: run test venv lint bench classroom clean-venv

$(STAMP): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
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
