# The project's verbs. `make run` and `make test` are the README's two set-up commands.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin

# `make test` talks to real services; these are the local defaults.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/backlot
TEST_BROKER_URL ?= amqp://guest:guest@127.0.0.1:5672//
TEST_REDIS_URL ?= redis://127.0.0.1:6379/0

.PHONY: run install dev test test-fast faults lint format migrations-check worker beat clean

# DEBUG is off unless set. `make run` turns it on for the embedded default (no
# DATABASE_URL or CELERY_BROKER_URL given); with those set it stays off unless DEBUG=1.
# With DEBUG=0 `make run` runs the static step (bin/collectstatic, WhiteNoise's manifest);
# with DEBUG=1 it creates the demo superuser instead.
# The tests run the development shape (their production-mode tests set DEBUG=0 themselves),
# with the per-install key in DATA_DIR/secret_key like `make run`.
RUN_DEBUG := $(or $(DEBUG),$(if $(DATABASE_URL)$(CELERY_BROKER_URL),0,1))
run worker beat: export DEBUG := $(RUN_DEBUG)
test faults migrations-check: export DEBUG := $(or $(DEBUG),1)

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements-dev.txt $(VENV)/.installed
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

dev: $(VENV)/.dev-installed

# with_embedded_redis starts the embedded Redis (REDIS_URL or CELERY_BROKER_URL unset)
# before the Procfile's processes and stops it after them.
run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py prepare_storage
	$(if $(filter 1 true yes on,$(RUN_DEBUG)),$(PY) manage.py demo_superuser,PATH="$(CURDIR)/$(BIN):$$PATH" bin/collectstatic)
	@echo "Starting web, worker and beat; web says which address to open. Ctrl-C stops them all."
	PATH="$(CURDIR)/$(BIN):$$PATH" $(PY) manage.py with_embedded_redis honcho start

test: dev
	DATABASE_URL="$${DATABASE_URL:-$(TEST_DATABASE_URL)}" \
	CELERY_BROKER_URL="$${CELERY_BROKER_URL:-$(TEST_BROKER_URL)}" \
	REDIS_URL="$${REDIS_URL:-$(TEST_REDIS_URL)}" \
	$(PY) -m pytest $(PYTEST_ARGS)

# The pure tests alone: no service needed. The service variables point at a closed port so
# a test that reaches a service without saying so fails here rather than passing by luck.
NO_SERVICE := 127.0.0.1:9
test-fast: export DEBUG := $(or $(DEBUG),1)
test-fast: dev
	DATABASE_URL="postgres://nobody@$(NO_SERVICE)/none" \
	CELERY_BROKER_URL="amqp://nobody:nobody@$(NO_SERVICE)//" \
	REDIS_URL="redis://$(NO_SERVICE)/0" \
	$(PY) -m pytest -m pure -p no:cacheprovider $(PYTEST_ARGS)

# The fault-injection scenarios alone; prints their table and writes bench/results/faults.json.
faults: dev
	DATABASE_URL="$${DATABASE_URL:-$(TEST_DATABASE_URL)}" \
	CELERY_BROKER_URL="$${CELERY_BROKER_URL:-$(TEST_BROKER_URL)}" \
	REDIS_URL="$${REDIS_URL:-$(TEST_REDIS_URL)}" \
	$(PY) -m pytest -m faults $(PYTEST_ARGS)

# mypy loads the settings (django-stubs' plugin), so it runs the development shape.
lint: dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DEBUG=1 $(BIN)/mypy

format: dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrations-check: install
	$(PY) manage.py makemigrations --check --dry-run

worker: dev
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/watchfiles --filter python bin/worker .

beat: install
	$(BIN)/celery -A project beat --loglevel INFO

clean:
	rm -rf $(VENV) var staticfiles
