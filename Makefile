# Short names for the README's commands. `make help` lists them.
PYTHON ?= python
BUILD_FLAGS = -W -n --keep-going
CHAPTERS = $(sort $(wildcard chapters/*.ipynb))

.PHONY: help install book test full bench

help:
	@echo "make install  install the book's environment (requirements.txt)"
	@echo "make book     build the HTML book into _build/html (no training: it shows saved outputs)"
	@echo "make test     unit tests, every chapter in the smoke profile, and a warning-free book build"
	@echo "make full     re-run every chapter in the full profile, in place, with wall times"
	@echo "make bench    time every way to train the book's models (python -m rnnbook.bench)"

install:
	$(PYTHON) -m pip install -r requirements.txt

book:
	jupyter-book build . $(BUILD_FLAGS)

test:
	$(PYTHON) -m pytest
	jupyter-book build . $(BUILD_FLAGS)

full:
	@begin=$$(date +%s); \
	for notebook in $(CHAPTERS); do \
	  start=$$(date +%s); \
	  RNNBOOK_PROFILE=full TF_CPP_MIN_LOG_LEVEL=3 jupyter execute --inplace --timeout=-1 "$$notebook" || exit 1; \
	  echo "$$notebook: $$(( $$(date +%s) - start )) s"; \
	done; \
	echo "all chapters: $$(( $$(date +%s) - begin )) s"

bench:
	TF_CPP_MIN_LOG_LEVEL=3 $(PYTHON) -m rnnbook.bench
