import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
# one h5py for the whole session: Debian's loads its MPI build only under mpirun (or with this set),
# and a serial h5py imported first (a test reading a results file) cannot write in-process results
os.environ.setdefault("H5PY_ALWAYS_USE_MPI", "1")


@pytest.fixture(scope="session")
def comm():
    from fockmpi.parallel import world
    return world()


@pytest.fixture
def mpi_tmp_path(comm, tmp_path_factory):
    """A temporary directory shared by all ranks (rank 0 creates it and broadcasts)."""
    path = str(tmp_path_factory.mktemp("mpi")) if comm.rank == 0 else None
    return comm.bcast(path, root=0)
