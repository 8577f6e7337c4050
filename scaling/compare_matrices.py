import sys, time
new = sys.argv[1] == "new"
if new:
    import fockmpi; from fockmpi.app.pipeline import build_problem; from fockmpi.jobfile.table import load_job
    from fockmpi.basis import SymmetricBasis; from fockmpi.operator.assemble import assemble_hamiltonian
    rt = fockmpi.Runtime.start(); comm, PETSc = rt.comm, rt.PETSc
else:
    from fockmpi import _runtime; from fockmpi.pipeline import build_problem; from fockmpi.config import load_job
    from fockmpi.basis import SymmetricBasis; from fockmpi.assemble import assemble_hamiltonian; from fockmpi.parallel import world
    PETSc, SLEPc = _runtime.init("real"); comm = world()
p = build_problem(load_job(sys.argv[2]))
t0 = time.perf_counter(); b = SymmetricBasis(p.sector, p.group, comm); t1 = time.perf_counter()
op = assemble_hamiltonian(p.compiled, b, comm, PETSc, show_progress=False); t2 = time.perf_counter()
x, y = op.mat.createVecs(); x.set(1.0); op.mat.mult(x, y)
t3 = time.perf_counter()
for _ in range(30): op.mat.mult(x, y)
t4 = time.perf_counter()
info = op.mat.getInfo(); ynorm = y.norm()
import hashlib
ia, ja, va = op.mat.getValuesCSR()
digest = comm.gather(hashlib.sha256(ia.tobytes() + ja.tobytes() + va.tobytes()).hexdigest()[:12])
import numpy as np
ms = comm.allgather((t4-t3)/30*1e3)
if comm.rank == 0: print(sys.argv[1], f"dim {op.mat.getSize()[0]} basis {t1-t0:.2f} assembly {t2-t1:.2f} matmult {ms[0]:.1f} ms (max {max(ms):.1f})", info["nz_used"], "y.norm", ynorm, "csr", digest, flush=True)
import os
sys.stdout.flush(); comm.Barrier(); os._exit(0)
