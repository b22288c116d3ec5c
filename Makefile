# TRIPS: every target creates .venv on first use. Targets take CONFIG=<file>; with none they use
# out/best.json when a search has run, else configs/default.json.
SHELL := /bin/bash
PY := .venv/bin/python
ifeq ($(origin CONFIG),undefined)
CONFIG := $(if $(wildcard out/best.json),out/best.json,configs/default.json)
endif
LAYERS ?=
SIM ?= verilator
JOBS ?= 2

PRESET ?= default
DATA ?= digits
DATA_DIR ?=
SEARCH_ARGS ?=
TARGET ?= LFE5U-85F-8BG381C
FPGA_ARGS ?=

# What users set reaches the tools as arguments, never as shell text: each value goes into the environment as it
# was typed ($(value): not expanded by make either) and the recipes read it as "$$TRIPS_...". The *_ARGS lists
# are split into words, with globbing off.
export TRIPS_CONFIG := $(value CONFIG)
export TRIPS_LAYERS := $(value LAYERS)
export TRIPS_SIM := $(value SIM)
export TRIPS_PRESET := $(value PRESET)
export TRIPS_DATA := $(value DATA)
export TRIPS_DATA_DIR := $(value DATA_DIR)
export TRIPS_SEARCH_ARGS := $(value SEARCH_ARGS)
export TRIPS_TARGET := $(value TARGET)
export TRIPS_FPGA_ARGS := $(value FPGA_ARGS)
export TRIPS_JOBS := $(value JOBS)
# (and the variables themselves are not exported: make would expand them for the environment)
unexport CONFIG LAYERS SIM PRESET DATA DATA_DIR SEARCH_ARGS TARGET FPGA_ARGS JOBS

.PHONY: all search rtl sim sim-icarus fpga test test-all system-tools bench bench-all results lint clean distclean

all: sim

# The co-search on the embedded default (digits, minutes on two CPU cores). PRESET=paper DATA=cifar10
# DATA_DIR=<folder> for the method's CIFAR setting. Resumes from out/search_ckpt.pt after an interruption.
search: .venv/.stamp
	set -f; $(PY) -m search --preset "$$TRIPS_PRESET" --data "$$TRIPS_DATA" $${TRIPS_DATA_DIR:+--data-dir "$$TRIPS_DATA_DIR"} $$TRIPS_SEARCH_ARGS

.venv/.stamp: pyproject.toml
	@test -x $(PY) || python3 -m venv .venv
	$(PY) -m pip install -q -e ".[search,hw,dev]"
	@touch $@

rtl: .venv/.stamp
	$(PY) -m rtl_gen --config "$$TRIPS_CONFIG"

sim: .venv/.stamp
	$(PY) -m sim --config "$$TRIPS_CONFIG" $${TRIPS_LAYERS:+--layers "$$TRIPS_LAYERS"} --simulator "$$TRIPS_SIM"

# The FPGA hand-off bundle in out/fpga/<name>/ (RTL with AXI interfaces, constraints, Vivado and yosys/nextpnr
# scripts, register map, memory images, README) and, with yowasp, ECP5 place-and-route and xc7 synthesis
# reports. TARGET=<part> (default LFE5U-85F-8BG381C; xc7... parts for Vivado); FPGA_ARGS=--no-run skips the tools.
fpga: .venv/.stamp
	set -f; $(PY) -m fpga --config "$$TRIPS_CONFIG" --target "$$TRIPS_TARGET" $$TRIPS_FPGA_ARGS

sim-icarus:
	$(MAKE) sim SIM=icarus

# What pip cannot install: Icarus (the second simulator), ccache (Verilator rebuilds) and a C/C++ compiler
# (Verilator's C++, search/mixquant.c). Installed with apt-get where this user may (root, or sudo without a
# password); otherwise one line names them and the command.
system-tools:
	@need=""; for t in iverilog:iverilog ccache:ccache cc:gcc g++:g++; do \
	  command -v $${t%%:*} >/dev/null 2>&1 || need="$$need $${t##*:}"; done; \
	if [ -n "$$need" ]; then \
	  if ! command -v apt-get >/dev/null 2>&1; then sudo=none; \
	  elif [ "$$(id -u)" = 0 ]; then sudo=""; \
	  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"; else sudo=none; fi; \
	  if [ "$$sudo" = none ]; then \
	    echo "make test needs$$need: install them (Debian/Ubuntu: sudo apt-get install$$need), then run make test again" >&2; \
	    exit 1; fi; \
	  echo "installing$$need (apt-get) ..."; \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get update -q >/dev/null && \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -q $$need >/dev/null || \
	  { echo "apt-get could not install$$need" >&2; exit 1; }; fi

test: .venv/.stamp system-tools
	$(PY) -m pytest -q -n "$$TRIPS_JOBS" -m "not slow"

test-all: .venv/.stamp system-tools
	$(PY) -m pytest -q -n "$$TRIPS_JOBS"

bench: .venv/.stamp
	$(PY) -m bench.model_speed
	$(PY) -m bench.schedule
	$(PY) -m bench.memory
	$(PY) -m bench.sim_speed
	$(PY) -m bench.accel_search
	$(PY) -m bench.utilization
	$(PY) -m bench.search_speed --preset default
	$(PY) -m bench.report

# the long ones: paper-preset search steps (~8 min), the three-arm ablation (~50 min), the default through the
# FPGA flow (~30 min)
bench-all: bench
	$(PY) -m bench.search_speed --preset paper --steps 16
	$(PY) -m bench.ablation
	$(PY) -m bench.fpga
	$(MAKE) results

# docs/results.md from bench/results/*.json
results: .venv/.stamp
	$(PY) -m bench.report

lint: .venv/.stamp
	$(PY) -m sim.lint

clean:
	rm -rf out sim_build .pytest_cache

distclean: clean
	rm -rf .venv *.egg-info
