"""Checkpoints of the eigensolve (fockmpi.solvers.checkpointing, fockmpi.io.checkpoint): a solve
stopped by a requested stop writes its Ritz vectors, a resumed solve reaches the eigenvalues of an
uninterrupted one to 1e-10; checkpoints along the way do not change the answer; a checkpoint of
another problem or basis, or an incomplete one, is refused with the reason."""
import numpy as np
import pytest
from checkpoint_cases import problem, run

import fockmpi
from fockmpi.errors import InputError
from fockmpi.io.checkpoint import read_checkpoint


@pytest.fixture(scope="module")
def rt():
    return fockmpi.Runtime.start("real")


@pytest.fixture(scope="module")
def reference(rt):
    values = {}
    for method in ("krylovschur", "davidson"):
        values[method] = run(rt.comm, rt.PETSc, rt.SLEPc, "/nonexistent", method)
    assert np.allclose(values["krylovschur"][0], values["davidson"][0], atol=1e-9)
    return values


@pytest.mark.parametrize("method", ["krylovschur", "davidson"])
def test_stop_then_resume_reaches_the_uninterrupted_eigenvalues(rt, reference, tmp_path, method):
    path = str(tmp_path / "c.h5")
    stopped, ckpt, _ = run(rt.comm, rt.PETSc, rt.SLEPc, path, method, stop_at=3)
    assert stopped is None and ckpt.saves == 1
    vectors, values, residuals, attrs = read_checkpoint(path, rt.comm, *problem(rt.comm, rt.PETSc, method)[::3])
    assert len(vectors) >= 3 and attrs["complete"] and residuals[0] > 1e-11  # not yet converged
    resumed, _, iterations = run(rt.comm, rt.PETSc, rt.SLEPc, path, method, resume=True)
    assert np.allclose(resumed[:3], reference[method][0][:3], atol=1e-10)
    assert iterations < reference[method][2]  # it went on from the saved vectors, not from scratch


@pytest.mark.parametrize("method", ["krylovschur", "davidson"])
def test_checkpoints_along_the_way_keep_the_answer(rt, reference, tmp_path, method):
    found, ckpt, _ = run(rt.comm, rt.PETSc, rt.SLEPc, str(tmp_path / "c.h5"), method, when=(2, 4, 6))
    assert ckpt.saves >= 2
    assert np.allclose(found[:3], reference[method][0][:3], atol=1e-10)


def test_a_foreign_or_incomplete_checkpoint_is_refused(rt, tmp_path):
    from fockmpi.runtime import import_h5py
    path = str(tmp_path / "c.h5")
    run(rt.comm, rt.PETSc, rt.SLEPc, path, stop_at=2)
    basis, _, op, identity = problem(rt.comm, rt.PETSc)
    op.destroy()
    with pytest.raises(InputError, match="another problem"):
        read_checkpoint(path, rt.comm, basis, "0" * 32)
    other = fockmpi.models.heisenberg(fockmpi.make_lattice("chain", [12]))
    from fockmpi.basis.make import make_basis
    from fockmpi.basis.sector import Sector
    small = make_basis(Sector(other.space, {"Sz": 0}), None, rt.comm)
    with pytest.raises(InputError, match="another basis"):
        read_checkpoint(path, rt.comm, small, identity)
    h5py = import_h5py()
    with h5py.File(path, "r+") as f:
        f.attrs["complete"] = False
    with pytest.raises(InputError, match="incomplete"):
        read_checkpoint(path, rt.comm, basis, identity)
    with pytest.raises(InputError, match="no such file"):
        read_checkpoint(str(tmp_path / "none.h5"), rt.comm, basis, identity)


@pytest.mark.parametrize("table, needle", [("interval = -1", "[checkpoint] interval"),
                                           ("interval = 'often'", "[checkpoint] interval"),
                                           ("path = 'r.h5'", "[checkpoint] path"),
                                           ("every = 5", "every")])
def test_bad_checkpoint_table_is_a_clear_error(tmp_path, capsys, table, needle):
    from test_hostile import assert_job_refused, chain
    job = chain() + "[output]\npath = 'r.h5'\n[checkpoint]\n" + table + "\n"
    assert_job_refused(capsys, tmp_path / "j.toml", job, needle)
