# omnitalker — every command a newcomer needs. `make help` lists them.
SHELL := /bin/bash
PY    ?= python3
VENV  := .venv
BIN   := $(VENV)/bin
STAMP := $(VENV)/.installed
TORCH := torch==2.13.0
NODE  := tools/node_modules/.installed

.PHONY: help install demo test test-slow export readme docs figures lab info

help:  ## list the commands
	@grep -E '^[a-z-]+:.*## ' Makefile | sed 's/:.*## /\t/' | expand -t 14

install: $(STAMP) $(NODE)  ## create .venv with CPU torch and omnitalker (editable, dev extras), and the docs' offline assets; a second run is instant

# Reinstall only when the dependency list changes. torch is pinned first: an open range would pull a CUDA build.
$(STAMP): settings.ini setup.py
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip 'setuptools<81' wheel
	$(BIN)/pip install -q $(TORCH)
	$(BIN)/pip install -q -e '.[dev]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	$(BIN)/python -c 'from omnitalker.world import warm_librosa; warm_librosa()'   # librosa's numba cache, written by one process (nb 07)
	$(BIN)/pip check
	touch $(STAMP)

# The book's offline assets from the npm registry (tools/package.json): KaTeX typesets the math when the pages are built,
# the widgets' HTML manager draws saved widget state. Nothing is fetched when a page is viewed.
$(NODE): tools/package.json tools/package-lock.json
	@command -v npm >/dev/null || { echo "make install: npm (Node.js) is needed for the docs' math and widgets: apt-get install nodejs npm" >&2; exit 1; }
	npm ci --prefix tools --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $(NODE)

# Scripts and tests draw figures off screen; kernels (`make lab`, `make docs`, `make figures`) must not inherit this, or
# matplotlib never switches to inline output and a notebook shows no figure.
demo test test-slow info: export MPLBACKEND := Agg

# the sentence lives in nb 12 (omnitalker.generate.DEMO_TEXT); `?=` is expanded when the recipe runs, after install
DEMO_TEXT ?= $(shell $(BIN)/python -c 'from omnitalker.generate import DEMO_TEXT; print(DEMO_TEXT)')
demo: install  ## render demo.mp4 from the shipped reference with the tiny checkpoints; print RTF; detect the watermark
	$(BIN)/omnitalker generate --text "$(DEMO_TEXT)" --ref data_samples/reference_arctic_a0007.mp4 --out demo.mp4
	$(BIN)/omnitalker detect demo.mp4

export: install  ## clean the notebooks, then write omnitalker/ from nbs/ (run before committing)
	$(BIN)/nbdev_clean
	$(BIN)/nbdev_export

# Notebook tests: nbdev's test_nb, each notebook in a fresh process (no state leaks between notebooks), 2 at a time
# on 2 cores, so one torch thread each avoids oversubscription (measured: 8 s vs 60 s for nb 03). The demo is one process
# and keeps every core's thread (measured back to back on this 2-core machine: RTF 2.84 against 3.60 with one thread).
test test-slow: export OMP_NUM_THREADS := 1
test: install  ## the test suite: library == notebooks, every notebook's tests (no slow/gpu cells), pytest tests/
	$(BIN)/nbdev_export
	@git status --porcelain -- omnitalker | grep . && { echo "omnitalker/ differs from what nbs/ export: run 'make export' and commit" >&2; git diff --stat -- omnitalker; exit 1; } || echo "export check: omnitalker/ matches nbs/"
	$(BIN)/python tools/test_nbs.py --workers 2 --pytest "tests/ -q"   # pytest runs as one more job of the pool; any job still running after 10 min fails

test-slow: install  ## also run cells flagged slow (minutes)
	$(BIN)/python tools/test_nbs.py --workers 2 --flags slow --timeout 0

readme: install  ## regenerate README.md from nbs/index.ipynb
	$(BIN)/python tools/book.py readme

docs: install  ## execute the notebooks and render them as HTML in _docs/ that works offline (no quarto)
	$(BIN)/python tools/book.py docs --out _docs

figures: install  ## execute the notebooks and store their pictures and printed results in nbs/ (so GitHub shows them); then commit
	$(BIN)/python tools/book.py figures
	$(BIN)/nbdev_clean

lab: install  ## JupyterLab on nbs/ with ipywidgets (offline: no extension manager look-ups)
	env -u MPLBACKEND $(BIN)/jupyter lab --notebook-dir=nbs --LabApp.extension_manager=readonly $(if $(filter 0,$(shell id -u)),--allow-root)

info: install  ## versions, device, ffmpeg, where the shipped weights and samples are found, configs
	$(BIN)/omnitalker info
