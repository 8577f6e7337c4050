# fockmpi: `make demo` and `make test` set everything up on a fresh Debian/Ubuntu machine.
VENV    ?= .venv
PY      := $(VENV)/bin/python
# Open MPI refuses root and more ranks than cores unless told; harmless elsewhere.
export OMPI_ALLOW_RUN_AS_ROOT=1
export OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
MPIRUN  ?= mpirun
TIMEOUT ?= timeout -k 10

.PHONY: setup demo test test-serial test-mpi bench bench-symmetry bench-suite bench-locality check-kernels clean

setup:
	@bash scripts/setup_env.sh

demo: setup
	$(MPIRUN) -n 2 $(VENV)/bin/fockmpi run jobs/heisenberg_ring24.toml --force

# tests/complex: the tests that need the complex PETSc build, in processes of their own
test: setup
	$(TIMEOUT) 1000 $(PY) -m pytest -q -p no:cacheprovider tests
	$(TIMEOUT) 300 $(PY) -m pytest -q -p no:cacheprovider tests/complex
	$(TIMEOUT) 600 $(MPIRUN) -n 2 $(PY) -m pytest -q --color=no -p no:cacheprovider tests/mpi
	$(TIMEOUT) 300 $(MPIRUN) -n 2 $(PY) -m pytest -q --color=no -p no:cacheprovider tests/complex/mpi
	$(TIMEOUT) 600 $(MPIRUN) -n 3 $(PY) -m pytest -q --color=no -p no:cacheprovider tests/mpi
	$(TIMEOUT) 300 $(MPIRUN) -n 3 $(PY) -m pytest -q --color=no -p no:cacheprovider tests/complex/mpi

bench: setup
	$(VENV)/bin/pip install -q -c $(VENV)/constraints.txt -e ".[bench]"
	$(PY) scaling/check_kernels.py
	$(PY) scaling/bench_core.py

# after every change to fockmpi/kernels.py: fails loudly when a row kernel is far slower than recorded
check-kernels: setup
	$(PY) scaling/check_kernels.py

# QuSpin lives in its own environment: it needs a newer numpy than Debian's PETSc bindings
bench-symmetry: setup
	test -x .venv-quspin/bin/python || (python3 -m venv .venv-quspin && .venv-quspin/bin/pip install -q quspin)
	$(PY) scaling/bench_symmetry.py

# fockmpi, QuSpin and the triad bandwidth in one run, one table (docs/benchmarks.md); ARPACK's products
bench-suite: setup
	test -x .venv-quspin/bin/python || (python3 -m venv .venv-quspin && .venv-quspin/bin/pip install -q quspin)
	$(PY) scaling/bench_suite.py --json docs/benchmarks_suite.json
	$(PY) scaling/bench_solver.py --nev 1 2 4 --json docs/benchmarks_solver.json

# one matrix per case timed six ways (PETSc, renumbered, ideal locality, streaming, gathering alone)
bench-locality: setup
	$(PY) scaling/bench_locality.py --cases ring24 hub12 heis30 hub4x4 square6x6 --json docs/benchmarks_locality.json

clean:
	rm -rf $(VENV) .venv-quspin results .pytest_cache
	find . -name __pycache__ -prune -exec rm -rf {} +
