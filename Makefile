# Short names for the README's commands. `make help` lists them.
PYTHON ?= python
BUILD_FLAGS = -W -n --keep-going
# Every chapter, in the order `make full` runs them: a chapter that shows another chapter's
# runs (or chapter 8's benchmark) comes after it. tests/test_runs.py checks the order.
CHAPTERS = \
	chapters/01_mnist_as_sequences.ipynb \
	chapters/08_training_speed.ipynb \
	chapters/03_single_lstm.ipynb \
	chapters/04_stacked_lstms.ipynb \
	chapters/05_peepholes.ipynb \
	chapters/06_gru.ipynb \
	chapters/07_side_by_side.ipynb \
	chapters/02_why_gates.ipynb \
	chapters/09_scaling_out.ipynb \
	chapters/appendix_tf1_programs.ipynb

.PHONY: help install book test full bench

help:
	@echo "make install  install the book's environment (requirements.txt)"
	@echo "make book     build the HTML book into _build/html (no training: it shows saved outputs)"
	@echo "make test     unit tests, every chapter in the smoke profile, a warning-free book build"
	@echo "make full     re-run every chapter in the full profile, in place, with wall times;"
	@echo "              recorded runs are loaded (RNNBOOK_RETRAIN=1 make full trains them all)"
	@echo "make bench    time every way to train the book's models (python -m rnnbook.bench)"

install:
	$(PYTHON) -m pip install -r requirements.txt

book:
	jupyter-book build . $(BUILD_FLAGS)

# tests/test_book.py builds the book with $(BUILD_FLAGS) itself.
test:
	$(PYTHON) -m pytest

# With RNNBOOK_RETRAIN=1, every run recorded before this regeneration started is retrained
# once: the first chapter that asks trains it, the chapters after it load it (rnnbook.runs).
full:
	@begin=$$(date +%s); \
	if [ "$${RNNBOOK_RETRAIN:-}" = 1 ]; then export RNNBOOK_RETRAIN=$$(date -u +%Y-%m-%dT%H:%M:%S+00:00); fi; \
	for notebook in $(CHAPTERS); do \
	  start=$$(date +%s); \
	  RNNBOOK_PROFILE=full TF_CPP_MIN_LOG_LEVEL=3 jupyter execute --inplace --timeout=-1 "$$notebook" || exit 1; \
	  echo "$$notebook: $$(( $$(date +%s) - start )) s"; \
	done; \
	echo "all chapters: $$(( $$(date +%s) - begin )) s"

bench:
	TF_CPP_MIN_LOG_LEVEL=3 $(PYTHON) -m rnnbook.bench
