"""A private one-node Slurm cluster for tests (and for trying ``fockmpi submit`` by hand).

Everything lives in one state directory: its own munge key and socket, slurm.conf, spool,
logs and pid files; nothing under /etc is read or changed, and the daemons listen on free
ports, so this never meets a system Slurm.  :meth:`LocalSlurm.stop` cancels the jobs and ends
every daemon it started by the PID it started, also after a failed test.

The settings are the ones that work in these containers (../shared/notes/stack.md):
``proctrack/pgid`` (linuxproc leaks a batch script's ``cmd &`` children), ``task/none``, no
cgroup.conf, ``select/cons_tres`` with ``CR_Core``, no accounting (``scontrol show job`` instead
of ``sacct``), ``cred_expire=30`` and a 5 s scheduler interval so a requeued job starts again
within about half a minute instead of three minutes.

By hand::

    python tests/slurm_cluster.py start /tmp/slurm      # prints: export SLURM_CONF=...
    python tests/slurm_cluster.py stop /tmp/slurm
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

# libpmix-dev: Slurm's mpi/pmix plugin opens libpmix.so (no version suffix), which only the -dev
# package has; without it `srun --mpi=pmix` fails with "can not load PMIx library"
PACKAGES = ("slurm-wlm", "munge", "libpmix-dev")


def _installed():
    if not all(shutil.which(p) for p in ("slurmctld", "slurmd", "sbatch", "munged")):
        return False
    if shutil.which("dpkg"):
        return subprocess.run(["dpkg", "-s", "libpmix-dev"], capture_output=True).returncode == 0
    return True


def install_packages():
    """Install Slurm, munge and PMIx from Debian's packages when missing (needs root and
    apt-get).  Returns None, or why it could not."""
    if _installed():
        return None
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return "slurm-wlm, munge or libpmix-dev is not installed, and installing them needs root and apt-get"
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (["apt-get", "update", "-qq"],
                ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *PACKAGES]):
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
        if done.returncode:
            return f"{' '.join(cmd)} failed: {done.stderr.strip()[-400:]}"
    return None


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalSlurm:
    """A one-node cluster whose state is all under ``root``.  ``env`` is what clients (sbatch,
    squeue, scontrol) need: ``SLURM_CONF``."""

    def __init__(self, root):
        self.root = os.path.abspath(root)
        self.conf = os.path.join(self.root, "slurm.conf")
        self.env = dict(os.environ, SLURM_CONF=self.conf)
        self.pid_files = {name: os.path.join(self.root, f"{name}.pid") for name in ("munged", "slurmctld", "slurmd")}

    # -- starting --------------------------------------------------------------------------
    def start(self, timeout=60):
        os.makedirs(os.path.join(self.root, "state"), exist_ok=True)
        os.makedirs(os.path.join(self.root, "spool"), exist_ok=True)
        self._start_munge()
        self._write_conf()
        for daemon in ("slurmctld", "slurmd"):
            done = subprocess.run([daemon, "-f", self.conf], env=self.env, capture_output=True, text=True, timeout=60)
            if done.returncode:
                raise RuntimeError(f"{daemon} did not start: {done.stderr.strip()} (log in {self.root})")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.run("sinfo", "-h", "-o", "%T", check=False).stdout.strip()
            if state in ("idle", "mixed", "allocated"):
                return self
            time.sleep(0.3)
        raise RuntimeError(f"the node did not come up within {timeout} s (sinfo: {state!r}); logs in {self.root}")

    def _start_munge(self):
        key = os.path.join(self.root, "munge.key")
        if not os.path.exists(key):
            with open(key, "wb") as f:
                f.write(os.urandom(1024))
            os.chmod(key, 0o400)
        self.socket = os.path.join(self.root, "munge.socket")
        subprocess.run(["munged", "--force", f"--socket={self.socket}", f"--key-file={key}",
                        f"--pid-file={self.pid_files['munged']}", f"--log-file={os.path.join(self.root, 'munged.log')}",
                        f"--seed-file={os.path.join(self.root, 'munged.seed')}"],
                       check=True, capture_output=True, timeout=30)

    def _write_conf(self):
        node = subprocess.run(["slurmd", "-C"], capture_output=True, text=True, check=True).stdout.splitlines()[0]
        host = node.split()[0].split("=", 1)[1]
        r = self.root
        text = f"""\
ClusterName=fockmpitest
SlurmctldHost={host}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={self.socket},cred_expire=30
SlurmctldPort={_free_port()}
SlurmdPort={_free_port()}
StateSaveLocation={r}/state
SlurmdSpoolDir={r}/spool
SlurmctldPidFile={self.pid_files['slurmctld']}
SlurmdPidFile={self.pid_files['slurmd']}
SlurmctldLogFile={r}/slurmctld.log
SlurmdLogFile={r}/slurmd.log
ProctrackType=proctrack/pgid
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc={r}/jobcomp.txt
SchedulerParameters=sched_interval=5,bf_interval=5
MpiDefault=none
ReturnToService=2
KillWait=10
MinJobAge=600
{node} NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=debug Nodes={host} Default=YES MaxTime=INFINITE State=UP
"""
        with open(self.conf, "w") as f:
            f.write(text)

    # -- using ---------------------------------------------------------------------------
    def run(self, *cmd, check=True, timeout=60, cwd=None):
        return subprocess.run(list(cmd), env=self.env, capture_output=True, text=True, check=check,
                              timeout=timeout, cwd=cwd)

    def job(self, job_id):
        """``scontrol show job`` as a dict (of the first record; an array's tasks are records
        of their own); {} once the job is forgotten."""
        out = self.run("scontrol", "-o", "show", "job", str(job_id), check=False).stdout
        records = []
        for line in out.splitlines():
            rec = {}
            for item in line.split():
                key, _, value = item.partition("=")
                rec[key] = value
            records.append(rec)
        return records

    def wait(self, job_id, timeout):
        """Wait until every record of ``job_id`` has ended; return the records."""
        deadline = time.monotonic() + timeout
        while True:
            records = self.job(job_id)
            if records and all(r.get("JobState") in ENDED for r in records):
                return records
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} still {[r.get('JobState') for r in records]} after {timeout} s; "
                                   f"logs in {self.root}")
            time.sleep(1.0)

    # -- stopping ------------------------------------------------------------------------
    def stop(self):
        """Cancel every job, then end the daemons this object started, by PID."""
        if os.path.exists(self.conf):
            self.run("scancel", "--full", "-u", str(os.geteuid()), check=False, timeout=30)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and self.run("squeue", "-h", check=False).stdout.strip():
                time.sleep(0.5)
        for name in ("slurmd", "slurmctld", "munged"):
            _kill_by_pid_file(self.pid_files[name])


ENDED = ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "BOOT_FAIL", "DEADLINE",
         "PREEMPTED")


def _kill_by_pid_file(path, patience=10.0):
    try:
        with open(path) as f:
            pid = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("start", "stop"):
        sys.exit("usage: python tests/slurm_cluster.py start|stop STATE_DIR")
    cluster = LocalSlurm(sys.argv[2])
    if sys.argv[1] == "start":
        why = install_packages()
        if why:
            sys.exit(why)
        cluster.start()
        print(f"export SLURM_CONF={cluster.conf}")
    else:
        cluster.stop()
