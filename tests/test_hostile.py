"""Hostile input and interrupted runs: every way a job, a path or a results file can be wrong
gets one clear message and exit status 2, before any work, and nothing is written or lost.

Most checks call the command line in this process (``cli.main``), which is what the console
script does minus the signal handlers; the run-time ones (signals, MPI) start real processes.
"""
import os
import sys
import textwrap
import time

import numpy as np
import pytest
from clear_errors import assert_clear_error
from test_cli import ROOT, fockmpi, write

from fockmpi.app import cli

CHAIN = """
[lattice]
type = "chain"
size = [8]

[model]
type = "heisenberg"
{model}

[sector]
{sector}
"""


def chain(model="", sector="Sz = 0"):
    return CHAIN.format(model=model, sector=sector)


def run_main(capsys, *args):
    """``fockmpi ARGS`` in this process: (exit status, stdout, stderr)."""
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err



def assert_job_refused(capsys, path, text, *needles):
    """Write ``text`` to ``path``: ``fockmpi info`` on it is one clear error holding every needle."""
    path.write_text(text)
    code, out, err = run_main(capsys, "info", str(path))
    assert_clear_error(code, err, *needles)


# --- 1. non-finite numbers ------------------------------------------------------------------
NON_FINITE = [
    (chain("J = nan"), "[model] J"),
    (chain("Delta = inf"), "[model] Delta"),
    (chain("h = -inf"), "[model] h"),
    (chain("[[model.term]]\ncoef = [1.0, nan]\nop = 'Sz_0 Sz_1'"), "[model] term[0].coef[1]"),
    (chain() + "[solver]\ntol = nan\n", "[solver] tol"),
    (chain() + "[solver]\nwhich = 'target'\ntarget = inf\n", "[solver] target"),
    ("[lattice]\ntype = 'custom'\nsites = 3\nbonds = {nn = [[0, 1, nan], [1, 2]]}\n[model]\ntype = 'heisenberg'\n",
     "[lattice] bonds.nn[0][2]"),
]


@pytest.mark.parametrize("text, key", NON_FINITE)
def test_non_finite_numbers_are_refused(tmp_path, capsys, text, key):
    job = write(tmp_path, text)
    for command in (["info", job], ["run", job, "-o", str(tmp_path / "x.h5")]):
        code, out, err = run_main(capsys, *command)
        assert_clear_error(code, err, key, "finite")
    assert not os.path.exists(tmp_path / "x.h5")


def test_non_finite_coefficient_from_python_is_refused():
    from fockmpi.models import ops
    from fockmpi.errors import OperatorError
    from fockmpi.operator.compile import compile_operator
    from fockmpi.models.space import Space
    H = ops.Sz(0) * ops.Sz(1) * float("nan") + ops.Sz(1) * ops.Sz(2)
    with pytest.raises(OperatorError, match="not a finite number"):
        compile_operator(H, Space.uniform("spin", 3))


@pytest.mark.parametrize("label, value", [("reflection", "2"), ("spin_flip", "0"), ("particle_hole", "true"),
                                          ("reflection", "'even'")])
def test_a_sign_label_that_is_not_plus_or_minus_one_is_refused(tmp_path, capsys, label, value):
    job = write(tmp_path, chain(sector=f"Sz = 0\nmomentum = 0\n{label} = {value}"))
    code, out, err = run_main(capsys, "info", job)
    assert_clear_error(code, err, f"[sector] {label}", 'one of 1, -1 or "all"')


# --- 2. symmetries that leave the U(1) sector -----------------------------------------------
OFF_SECTOR = [
    (chain(sector="Sz = 1\nspin_flip = 1"), "maps the sector Sz=1 to the sector Sz=-1"),
    (chain(sector="Sz = 1\nspin_flip = -1"), "only at Sz = 0"),
    (chain(sector="Sz = 1\nspin_flip = 'all'"), "only at Sz = 0"),
    (chain(sector="Sz = -2\nmomentum = 0\nspin_flip = 1"), "to the sector Sz=2"),
    (chain(sector="Sz = 1\n[[sector.symmetry]]\npermutation = [1, 2, 3, 4, 5, 6, 7, 0]\nspin_flip = true"),
     "the symmetry 'symmetry1' maps the sector Sz=1"),
    ("[lattice]\ntype = 'chain'\nsize = [6]\n[model]\ntype = 'hubbard'\nU = 2.0\n[sector]\nN_up = 3\nN_dn = 2\n"
     "spin_flip = 1\n", "maps the sector N_dn=2,N_up=3 to the sector N_dn=3,N_up=2"),
    ("[lattice]\ntype = 'chain'\nsize = [6]\n[model]\ntype = 'hubbard'\nU = 2.0\n[sector]\nN = 5\n"
     "particle_hole = 1\n", "only at half filling"),
    ("[lattice]\ntype = 'chain'\nsize = [6]\n[model]\ntype = 'tV'\nV = 1.0\n[sector]\nN = 4\n"
     "particle_hole = 'all'\n", "to the sector N=2"),
]


@pytest.mark.parametrize("L", [5, 6])
def test_sector_check_agrees_with_the_action_on_every_state(L):
    """check_sector_preserved against brute force: apply each generator to every state of
    every sector and see whether all images keep the charges."""
    from fockmpi.basis.ranking import RankingTables
    from fockmpi.basis.sector import Sector
    from fockmpi.errors import SectorError
    from fockmpi.models.space import Space
    from fockmpi.symmetry.encoding import bit_map
    from fockmpi.symmetry.group import Generator
    from fockmpi.symmetry.invariance import check_sector_preserved
    shift = tuple((i + 1) % L for i in range(L))
    for kind, charges in (("spin", ["Sz"]), ("fermion", ["N"]), ("electron", ["N_up", "N_dn"])):
        space = Space.uniform(kind, L)
        gens = [Generator("T", shift, False, 1), Generator("P", tuple(range(L))[::-1], False, 1)]
        if kind != "fermion":
            gens += [Generator("flip", None, True, 1), Generator("Tflip", shift, True, 1)]
        if kind != "spin":
            gens.append(Generator("C", None, False, 1, particle_hole=True, eta=(1,) * L))
        scale = 2 if kind == "spin" else 1
        ranges = {"spin": range(-L, L + 1, 2), "fermion": range(0, L + 1), "electron": range(0, L + 1)}[kind]
        values = [{charges[0]: v / scale} for v in ranges] if kind != "electron" else \
            [{"N_up": a, "N_dn": b} for a in ranges for b in ranges]
        for value in values:
            sector = Sector(space, value)
            tables = RankingTables(sector)
            states = tables.states(0, tables.dim)
            for g in gens:
                dest, flip = bit_map(space, g.permutation or tuple(range(L)), g.spin_flip, g.particle_hole)
                images = np.zeros_like(states)
                for b in range(space.nbits):
                    images |= ((states >> np.uint64(b)) & np.uint64(1)) << np.uint64(dest[b])
                images ^= np.uint64(flip)
                kept = bool(np.all(tables.rank(images) >= 0))
                try:
                    check_sector_preserved(sector, [g])
                    said = True
                except SectorError:
                    said = False
                assert said == kept, (kind, value, g.name)


# --- 3. tracebacks that were ------------------------------------------------------------------
TRACEBACKS = [
    ("[lattice]\ntype = 'chain'\nsize = [6]\nboundary = 5\n[model]\ntype = 'heisenberg'\n",
     "[lattice] boundary: expected 'periodic' or 'open'"),
    ("[lattice]\ntype = 'chain'\nsize = [6]\nboundary = ['open', 5]\n[model]\ntype = 'heisenberg'\n",
     "[lattice] boundary"),
    ("[lattice]\ntype = 'chain'\nsize = [6]\n[model]\ntype = 'heisenberg'\n[sector]\n[[sector.symmetry]]\n"
     "permutation = ['a', 'b', 2, 3, 4, 5]\n", "permutation: expected a permutation of the sites 0..5"),
    ("[lattice]\ntype = 'chain'\nsize = [6]\n[model]\ntype = 'heisenberg'\n[sector]\n[[sector.symmetry]]\n"
     "permutation = [1.5, 0, 2, 3, 4, 5]\n", "permutation"),
]


@pytest.mark.parametrize("text, message", OFF_SECTOR + TRACEBACKS)
def test_off_sector_symmetries_and_former_tracebacks_are_messages(tmp_path, capsys, text, message):
    job = write(tmp_path, text)
    for command in (["info", job], ["run", job, "-o", str(tmp_path / "x.h5")]):
        code, _, err = run_main(capsys, *command)
        assert_clear_error(code, err, message)


# --- 4 and 7. sizes beyond what fits, refused at once ----------------------------------------
@pytest.mark.parametrize("size", ["[9223372036854775807]", "[10000]", "[65]", "[10000, 10000]"])
def test_lattices_beyond_64_sites_are_refused_before_any_bond(tmp_path, capsys, size):
    kind = "square" if "," in size else "chain"
    job = write(tmp_path, f"[lattice]\ntype = '{kind}'\nsize = {size}\n[model]\ntype = 'heisenberg'\n")
    t0 = time.perf_counter()
    code, _, err = run_main(capsys, "info", job)
    assert_clear_error(code, err, "more than 64 sites")
    assert time.perf_counter() - t0 < 5  # (it used to build the bonds and sum the terms first)


def test_operator_sums_are_in_place():
    from fockmpi.models import ops
    H = ops.Operator()
    first = H
    for i in range(3000):
        H += ops.Sz(i % 60) * ops.Sz((i + 1) % 60) * (1 + i)
    assert H is first and len(H.terms) == 60
    H += -H  # terms that cancel are dropped
    assert not H.terms


@pytest.mark.parametrize("sites", [34, 40, 64])
def test_sectors_beyond_the_index_width_are_refused_before_the_basis(tmp_path, sites):
    job = write(tmp_path, chain(sector="Sz = 0").replace("[8]", f"[{sites}]"))
    t0 = time.perf_counter()
    r = fockmpi("run", job, "-o", str(tmp_path / "x.h5"))
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert "32-bit indices" in r.stderr or "GiB available" in r.stderr, r.stderr
    assert "64-bit-indices" in r.stderr or "more nodes" in r.stderr, r.stderr
    assert time.perf_counter() - t0 < 30 and not os.path.exists(tmp_path / "x.h5")
    r = fockmpi("info", job)
    assert r.returncode == 0 and "warning:" in r.stdout, r.stdout + r.stderr
    assert "32-bit indices" in r.stdout or "available memory" in r.stdout


# --- 5. output paths -------------------------------------------------------------------------
def test_unusable_output_paths_are_refused_before_any_work(tmp_path, capsys):
    job = write(tmp_path, chain())
    (tmp_path / "adir").mkdir()
    (tmp_path / "afile").write_text("x")
    cases = [("", "[output] path"), (str(tmp_path / "adir"), "is a directory"),
             (str(tmp_path / "adir") + "/", "is a directory"),
             (str(tmp_path / "afile" / "x.h5"), "afile is a file"),
             (job, "is the job file itself"), ("/proc/fockmpi-test/x.h5", "cannot")]
    for path, message in cases:
        code, out, err = run_main(capsys, "run", job, "-o", path)
        assert_clear_error(code, err, message)
        assert "dim" not in out  # refused before the basis
    assert "exists already" not in err
    code, _, err = run_main(capsys, "run", write(tmp_path, chain() + "[output]\npath = ''\n", "e.toml"))
    assert_clear_error(code, err, "[output] path")
    assert sorted(os.listdir(tmp_path)) == ["adir", "afile", "e.toml", "job.toml"]  # no stray .tmp
    assert os.listdir(tmp_path / "adir") == []


def test_results_never_replace_a_file_that_appeared_meanwhile(tmp_path):
    from fockmpi.io.results import publish
    final = tmp_path / "r.h5"
    (tmp_path / "a.tmp").write_text("first run")
    assert publish(str(tmp_path / "a.tmp"), str(final), force=False) == str(final)
    (tmp_path / "b.tmp").write_text("second run")
    # the name is taken now (by the first run): the second keeps its results under a new name
    assert publish(str(tmp_path / "b.tmp"), str(final), force=False) == str(tmp_path / "r.1.h5")
    assert final.read_text() == "first run" and (tmp_path / "r.1.h5").read_text() == "second run"
    (tmp_path / "c.tmp").write_text("forced")
    assert publish(str(tmp_path / "c.tmp"), str(final), force=True) == str(final)
    assert final.read_text() == "forced"
    assert sorted(os.listdir(tmp_path)) == ["r.1.h5", "r.h5"]


def test_temporary_names_are_per_run_and_stale_ones_are_removed(tmp_path, capsys, comm):
    from fockmpi.io.results import prepare_path, temporary_name
    path = str(tmp_path / "r.h5")
    mine = temporary_name(path, comm)
    assert mine != path + ".tmp" and mine.endswith(".tmp") and str(os.getpid()) in mine
    import socket
    dead = f"{path}.{socket.gethostname()}-999999999.tmp"  # no such process
    alive = f"{path}.{socket.gethostname()}-1.tmp"         # init: a live process
    elsewhere = f"{path}.otherhost-123.tmp"
    for name in (dead, alive, elsewhere):
        open(name, "w").close()
    prepare_path(path, False, comm)
    assert not os.path.exists(dead) and os.path.exists(alive) and os.path.exists(elsewhere)


# --- 6. show on files that are not results ------------------------------------------------------
def test_show_says_what_is_wrong_with_a_file(tmp_path, capsys):
    from fockmpi.runtime import import_h5py
    h5py = import_h5py()
    good = str(tmp_path / "good.h5")
    code, _, err = run_main(capsys, "run", write(tmp_path, chain()), "-o", good, "-q")
    assert code == 0, err
    raw = open(good, "rb").read()
    files = {
        "empty.h5": b"", "text.h5": b"not hdf5 at all\n", "truncated.h5": raw[:3000],
        "corrupt.h5": raw[:2000] + b"\xff" * 3000 + raw[5000:],
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    with h5py.File(tmp_path / "foreign.h5", "w") as f:
        f["x"] = 1
        f.attrs["complete"] = True
    with h5py.File(tmp_path / "hollow.h5", "w") as f:
        f.attrs["complete"] = True
        f.attrs["format"] = "fockmpi-results-1"
    with h5py.File(tmp_path / "left.h5.host-1.tmp", "w") as f:
        f.attrs["complete"] = False
        f.attrs["format"] = "fockmpi-results-1"
    (tmp_path / "adir").mkdir()
    expected = {"empty.h5": "empty file", "text.h5": "not a fockmpi results file (not HDF5)",
                "truncated.h5": "unreadable", "corrupt.h5": "damaged", "foreign.h5": "not a fockmpi results file",
                "hollow.h5": "damaged results file", "left.h5.host-1.tmp": "incomplete",
                "adir": "is a directory", "missing.h5": "no such file"}
    for name, message in expected.items():
        code, _, err = run_main(capsys, "show", str(tmp_path / name))
        assert_clear_error(code, err, message)
        if name == "foreign.h5":
            assert "incomplete" not in err
    code, out, _ = run_main(capsys, "show", good)
    assert code == 0 and "eigenvalue" in out


# --- 9. solver settings and PETSc options ------------------------------------------------------
SOLVER_ERRORS = [
    ("options = {eps_type = 'notasolver'}", [], "eps_type = 'notasolver'"),
    ("", ["--", "-eps_type", "bogus"], "eps_type = 'bogus'"),
    ("options = {eps_nevv = 3}", [], "eps_nevv"),
    ("options = {bogus_option = 1}", [], "bogus_option"),
    ("", ["--", "-eps_ncvv", "30"], "eps_ncvv"),
    ("method = 'lobpcg'\nwhich = 'target'", [], "lobpcg"),
    ("method = 'lobpcg'\ntransform = 'sinvert'", [], "transform is only used with which = \"target\""),
    ("max_it = 1000000000000", [], "[solver] max_it: expected an integer between 0 and 2147483647"),
    ("nev = 3000000000", [], "[solver] nev: expected an integer between 1 and 2147483647"),
    ("tol = 1e-300", [], "beyond double precision"),
    ("balance = 'rows'", [], "[solver] balance"),
]


@pytest.mark.parametrize("solver, extra, message", SOLVER_ERRORS)
def test_solver_settings_are_checked_before_the_basis(tmp_path, capsys, solver, extra, message):
    job = write(tmp_path, chain() + f"[solver]\n{solver}\n")
    code, out, err = run_main(capsys, "run", job, "-o", str(tmp_path / "x.h5"), *extra)
    assert_clear_error(code, err, message)
    assert "dim " not in out and not os.path.exists(tmp_path / "x.h5")
    if message == "eps_nevv":
        assert "did you mean 'eps_nev'" in err


@pytest.mark.parametrize("solver, message", [("ncv = 2147483647", "for the solver's vectors"),
                                             ("nev = 150000", "dense 184756 x 184756 matrix")])
def test_solver_memory_is_checked_before_the_basis(tmp_path, capsys, solver, message):
    job = write(tmp_path, chain().replace("[8]", "[20]") + f"[solver]\n{solver}\n")
    code, out, err = run_main(capsys, "run", job, "-o", str(tmp_path / "x.h5"))
    assert_clear_error(code, err, message, "ask for fewer levels")
    assert "dim " not in out


def test_accepted_options_still_work(tmp_path, capsys):
    job = write(tmp_path, chain() + "[solver]\noptions = {eps_krylovschur_restart = 0.4, eps_view_values = ''}\n")
    code, out, err = run_main(capsys, "run", job, "-o", str(tmp_path / "x.h5"), "--", "-eps_ncv", "20")
    assert code == 0, err


# --- 10 and 11. messages that teach ----------------------------------------------------------------
MESSAGES = [
    (chain() + "[solver]\nwhich = 'lowest'\n", "did you mean 'smallest'?", "largest'?"),
    (chain() + "[solver]\nwhich = 'highest'\n", "did you mean 'largest'?", "smallest'?"),
    ("[lattice]\ntype = 'chain'\nsizee = [8]\n[model]\ntype = 'heisenberg'\n",
     "unknown key 'sizee' in [lattice] (did you mean 'size'?)", "key is missing"),
    ("[lattice]\ntype = 'chain'\n[model]\ntype = 'heisenberg'\n", "expected a list of one positive integer",
     "expected an integer"),
    ("foo = 1\n" + chain(), "unknown key 'foo' at the top level", "unknown section"),
    (chain("[[model.term]]\nop = 'Sz_\u0663'"), "cannot read factor 'Sz_\u0663'", "Traceback"),
    (chain("[[model.term]]\nop = 'Sz_\uff13 Sz_1'"), "digits 0-9", "Traceback"),
]


@pytest.mark.parametrize("text, wanted, unwanted", MESSAGES)
def test_messages_teach(tmp_path, capsys, text, wanted, unwanted):
    job = write(tmp_path, text)
    code, _, err = run_main(capsys, "info", job)
    assert_clear_error(code, err, wanted)
    assert unwanted not in err


def test_ascii_site_numbers_only():
    from fockmpi.models import ops
    from fockmpi.errors import OperatorError
    assert ops.parse_operator("Sz_12") .terms
    for text in ("Sz_\u0663", "S+_\u0661 S-_2", "cdag_\u00b2,up"):
        with pytest.raises(OperatorError):
            ops.parse_operator(text)
    assert ops.parse_operator("cdag_1,\u2191 c_2,\u2191").terms  # arrows stay spin labels


# --- 8. signals and one-rank failures end every rank -------------------------------------------------
def _start(tmp_path, ranks, job="jobs/heisenberg_ring24.toml"):
    import subprocess
    from test_cli import FOCKMPI, MPI_ENV
    out = str(tmp_path / "sig.h5")
    cmd = ["mpirun", "-n", str(ranks)] + FOCKMPI + ["run", job, "-o", out]
    p = subprocess.Popen(cmd, cwd=ROOT, env=MPI_ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True)
    return p, out


def _wait_for(p, needle, timeout=120):
    """Read stdout until ``needle`` appears (the run reached that phase)."""
    lines, t0 = [], time.time()
    while time.time() - t0 < timeout:
        line = p.stdout.readline()
        if not line or "results:" in line:  # (the run ended: too late to interrupt it)
            break
        lines.append(line)
        if needle in line:
            return lines
    raise AssertionError("the run never reached " + needle + ":\n" + "".join(lines))


def _rank_pids(mpirun_pid):
    import subprocess
    out = subprocess.run(["pgrep", "-P", str(mpirun_pid)], capture_output=True, text=True, check=False).stdout
    return sorted(int(x) for x in out.split())


# "| dim " is the header printed after the basis, just before the assembly (which takes ~1 s);
# "solve: iteration" appears 3 s into the solve
@pytest.mark.parametrize("phase, signame", [("| dim ", "SIGINT"), ("solve: iteration", "SIGTERM")])
def test_a_signal_to_one_rank_ends_the_whole_run(tmp_path, phase, signame):
    import signal
    p, out = _start(tmp_path, 2)
    try:
        _wait_for(p, phase)
        pids = _rank_pids(p.pid)
        assert len(pids) == 2, pids
        t0 = time.time()
        os.kill(pids[-1], getattr(signal, signame))
        _, err = p.communicate(timeout=30)
        elapsed = time.time() - t0
    finally:
        if p.poll() is None:
            os.killpg(p.pid, 9)
    assert p.returncode != 0 and elapsed < 10, (elapsed, err)
    assert err.count(f"interrupted by {signame}") == 1 and "no results file was written" in err, err
    assert "Traceback" not in err and not os.path.exists(out)


# 0 s: in the assembly; 0.6 and 1.5 s: in the solve (stored matrix: a signal is handled at the next
# product, eigen._Forwarded), where mpirun's SIGKILL 1 s after its SIGTERM often came before the
# next iteration and its message (CI at 16488f0)
@pytest.mark.parametrize("after", [0.0, 0.6, 1.5])
def test_interrupting_mpirun_prints_one_line(tmp_path, after):
    import signal
    p, out = _start(tmp_path, 2)
    try:
        _wait_for(p, "| dim ")
        time.sleep(after)
        t0 = time.time()
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=30)
        elapsed = time.time() - t0
    finally:
        if p.poll() is None:
            os.killpg(p.pid, 9)
    assert elapsed < 10 and p.returncode != 0, (elapsed, err)
    assert err.count("interrupted by") == 1 and "no results file was written" in err, err
    assert "Traceback" not in err and not os.path.exists(out)


def test_sigusr1_to_mpirun_stops_the_solve_with_a_checkpoint(tmp_path):
    """mpirun forwards SIGUSR1 to the ranks (and kills 1 s after the SIGTERM of a Ctrl-C): the
    way to stop a run of mpirun with a checkpoint, as the Ctrl-C message says."""
    import signal
    from fockmpi.errors import CHECKPOINTED_EXIT
    p, out = _start(tmp_path, 2)
    try:
        _wait_for(p, "solve: iteration")
        p.send_signal(signal.SIGUSR1)
        _, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, 9)
    assert p.returncode == CHECKPOINTED_EXIT, err
    assert err.count("interrupted by SIGUSR1") == 1 and "the solve is checkpointed in" in err, err
    assert "Traceback" not in err and "Segmentation" not in err and not os.path.exists(out)
    assert os.path.exists(out.replace(".h5", ".checkpoint.h5"))


ONE_RANK_FAILS = textwrap.dedent("""
    import sys
    from fockmpi.app import cli
    from fockmpi.errors import FockmpiError
    from fockmpi.parallel import world

    def cmd_run(args):
        comm = world()
        if comm.rank == 1:
            raise FockmpiError("only rank 1 saw this")
        comm.barrier()  # the others would wait here forever
        return 0

    cli.cmd_run = cmd_run
    sys.exit(cli.main(["run", "nothing.toml"]))
""")


def test_an_error_on_one_rank_ends_the_whole_run(tmp_path):
    import subprocess
    from test_cli import MPI_ENV
    script = tmp_path / "one.py"
    script.write_text(ONE_RANK_FAILS)
    t0 = time.time()
    r = subprocess.run(["mpirun", "-n", "2", sys.executable, str(script)], cwd=ROOT,
                       env=MPI_ENV, capture_output=True, text=True, timeout=60, check=False)
    assert r.returncode != 0 and time.time() - t0 < 30, r.stderr
    assert r.stderr.count("only rank 1 saw this") == 1 and "(rank 1 of 2)" in r.stderr, r.stderr


# --- the fuzz: a few hundred malformed jobs from valid ones ---------------------------------------
@pytest.mark.parametrize("ranks, count", [(None, 300), (2, 150)])
def test_malformed_jobs_all_get_one_clear_message(tmp_path, ranks, count):
    """tests/fuzz_jobs.py mutates valid jobs (types, nan/inf, misspelled, unknown and missing
    keys, impossible values) and feeds each to ``run`` (and ``info`` on one rank) in one
    process; every one must give exit status 2, one message, no traceback and no file."""
    import json
    import subprocess

    from fuzz_jobs import BASES
    from test_cli import MPI_ENV
    from fuzz_jobs import to_toml
    for name, job in BASES.items():  # the bases themselves are valid (else the fuzz proves nothing)
        path = write(tmp_path, to_toml(job), name=f"base_{name}.toml")
        r = fockmpi("info", path)
        assert r.returncode == 0, (name, r.stderr)
    cmd = [sys.executable, os.path.join(ROOT, "tests", "fuzz_jobs.py"), str(tmp_path), str(count)]
    if ranks:
        cmd = ["mpirun", "-n", str(ranks)] + cmd
    r = subprocess.run(cmd, cwd=ROOT, env=MPI_ENV, capture_output=True, text=True, timeout=600, check=False)
    assert r.returncode == 0, r.stderr[-3000:]
    report = json.load(open(tmp_path / "report.json"))
    assert len(report) == count * (1 if ranks else 2)
    failures = []
    for entry in report:
        errors = entry["stderr"]
        lines = [line for text in errors for line in text.strip().splitlines()]
        ok = (all(c == 2 for c in entry["codes"]) and not entry["written"] and len(lines) == 1
              and lines[0].startswith("fockmpi: error: ") and not any("Traceback" in t for t in errors))
        if not ok:
            failures.append(entry)
    assert not failures, json.dumps(failures[:5], indent=1)
    kinds = {e["case"].split(":")[1].split()[0] for e in report}
    assert {"nonfinite", "type", "misspell", "unknown"} <= kinds, kinds


MPI_CASES = [
    (chain("J = nan"), [], "[model] J: expected a finite number"),
    (chain(sector="Sz = 1\nspin_flip = 1"), [], "maps the sector Sz=1 to the sector Sz=-1"),
    (chain(sector="Sz = 0").replace("[8]", "[34]"), [], "32-bit indices"),
    (chain() + "[solver]\noptions = {eps_type = 'bogus'}\n", [], "eps_type = 'bogus'"),
    (chain(), ["--", "-eps_nevv", "2"], "eps_nevv"),
    (chain(), ["-o", "DIR"], "is a directory"),
]


@pytest.mark.parametrize("ranks", [2, 3])
def test_hostile_input_on_ranks_is_one_message(tmp_path, ranks):
    for k, (text, extra, message) in enumerate(MPI_CASES):
        job = write(tmp_path, text, name=f"j{k}.toml")
        args = [a.replace("DIR", str(tmp_path)) for a in extra]
        if "-o" not in args:
            args = ["-o", str(tmp_path / f"j{k}.h5")] + args
        t0 = time.time()
        r = fockmpi("run", job, *args[:2], *args[2:], ranks=ranks, timeout=120)
        assert r.returncode == 2, (message, r.stderr)
        # (mpirun adds its own box about a non-zero exit status)
        lines = [line for line in r.stderr.splitlines() if line.startswith("fockmpi")]
        assert len(lines) == 1 and message in lines[0] and lines[0].startswith("fockmpi: error:"), r.stderr
        assert "Traceback" not in r.stderr
        assert time.time() - t0 < 60 and not os.path.exists(tmp_path / f"j{k}.h5")


def test_two_runs_with_one_output_path_lose_nothing(tmp_path):
    """The race that was: the second run finishes first, the first one must not replace it."""
    import subprocess

    from fockmpi.io.results import read_results
    from test_cli import FOCKMPI, MPI_ENV
    out = str(tmp_path / "same.h5")
    slow = write(tmp_path, chain(sector="Sz = 0").replace("[8]", "[22]"), name="slow.toml")
    fast = write(tmp_path, chain(), name="fast.toml")
    first = subprocess.Popen(FOCKMPI + ["run", slow, "-o", out], cwd=ROOT, env=MPI_ENV, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    _wait_for(first, "dim")  # past the output check: the name is free, the run is working
    second = fockmpi("run", fast, "-o", out)
    assert second.returncode == 0, second.stderr
    _, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    assert read_results(out)["sector"]["dimension"] == 70  # the second run's file stayed
    assert read_results(str(tmp_path / "same.1.h5"))["sector"]["dimension"] == 705432
    assert "appeared while this run was working" in err and "same.1.h5" in err
    assert not [f for f in os.listdir(tmp_path) if f.endswith(".tmp")]


def test_info_and_show_under_mpirun_speak_once(tmp_path):
    job = write(tmp_path, chain())
    r = fockmpi("info", job, ranks=2)
    assert r.returncode == 0 and r.stdout.count("sector Sz=0: dimension 70") == 1, r.stdout + r.stderr
    bad = write(tmp_path, chain("J = nan"), name="bad.toml")
    r = fockmpi("info", bad, ranks=2)
    assert r.returncode == 2 and r.stderr.count("fockmpi: error:") == 1, r.stderr
    r = fockmpi("show", str(tmp_path / "missing.h5"), ranks=2)
    assert r.returncode == 2 and r.stderr.count("fockmpi: error:") == 1, r.stderr
    r = fockmpi("run", ranks=2)  # a usage error (no job file)
    assert r.returncode == 2 and r.stderr.count("usage:") == 1, r.stderr


def test_sigterm_in_the_solve_checkpoints_and_resume_finishes(tmp_path):
    """Slurm's warning (SIGTERM or SIGUSR1) during the solve: every rank stops after writing a
    checkpoint (exit 75, the requeue code); ``--resume`` goes on from it and reaches the
    eigenvalues of an uninterrupted run (other rank counts: tests/mpi/test_checkpoint_ranks.py);
    the checkpoint is gone once the results are complete, and the results file counts the
    restart."""
    import signal
    import subprocess
    from test_cli import FOCKMPI, MPI_ENV

    from fockmpi.io.results import read_results
    # the Majumdar-Ghosh ring of 24 (J2 = J/2): E0 = E1 = -9 exactly; two levels at tol 1e-12 take ~20 s
    # on 2 ranks, so the signal 3 s into the solve always finds it running (the unfrustrated ring's
    # one level took 4 s: one second of margin, and a loaded machine once finished first)
    job = tmp_path / "mg24.toml"
    job.write_text("[lattice]\ntype = 'chain'\nsize = [24]\n[model]\ntype = 'heisenberg'\nJ2 = 0.5\n[sector]\n"
                   "Sz = 0\n[solver]\nnev = 2\ntol = 1e-12\ncomplete_multiplets = false\n")
    p, out = _start(tmp_path, 2, str(job))
    ckpt = str(tmp_path / "sig.checkpoint.h5")
    try:
        _wait_for(p, "solve: iteration")
        os.kill(_rank_pids(p.pid)[-1], signal.SIGUSR1)
        _, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, 9)
    assert p.returncode == 75, err
    assert err.count("interrupted by SIGUSR1") == 1 and "--resume" in err and "Traceback" not in err, err
    assert os.path.exists(ckpt) and not os.path.exists(out)
    again = subprocess.run(FOCKMPI + ["run", str(job), "-o", out], cwd=ROOT, env=MPI_ENV,
                           capture_output=True, text=True, timeout=300)
    assert again.returncode == 2 and "--resume" in again.stderr, again.stderr  # never silently started over
    resumed = subprocess.run(["mpirun", "-n", "2"] + FOCKMPI + ["run", str(job), "-o", out,
                                                                 "--resume"],
                             cwd=ROOT, env=MPI_ENV, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert "resume: from" in resumed.stdout and not os.path.exists(ckpt)
    found = read_results(out)
    assert np.allclose(found["eigenvalues"], [-9.0, -9.0], atol=1e-10)  # (the exact dimer states)
    assert found["solver"]["restarts"] == 1
