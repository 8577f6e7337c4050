"""``[slurm]``: how ``fockmpi submit`` asks Slurm for resources.  Not collective.

Every key may also be given on the command line (``fockmpi submit --time 2:00:00 ...``); the
command line wins.  Keys (all optional)::

    [slurm]
    ranks = 64                 # MPI ranks (--ntasks); default 1
    nodes = 2                  # default: what the planner recommends for node_memory, node_cores
    time = "12:00:00"          # wall-time limit: minutes, "MM:SS", "HH:MM:SS", "D-HH[:MM[:SS]]"; default 1:00:00
    partition = "compute"
    account = "proj123"
    qos = "normal"
    memory = 180               # GiB per node (--mem); default: the planner's estimate / 0.7
    node_memory = 256          # GiB per node the planner may use (default: this machine's available)
    node_cores = 128           # cores per node for the planner (default: this machine's)
    setup = ["module load petsc/3.20", "source ~/ed/bin/activate"]   # lines run before the job
    sbatch = ["--constraint=ib", "--exclusive"]                       # more #SBATCH lines
    launcher = "srun"          # "srun" (srun --mpi=pmix), "mpirun", or a whole launch command
    command = "fockmpi"        # default: this Python's "python -m fockmpi"
    warning = 300              # seconds before the limit Slurm sends SIGUSR1 (the checkpoint signal)
    requeues = 20              # at most this many requeues after checkpoints
    parallel = 8               # a sweep's array runs at most this many points at once
    job_name = "ring24"        # default: the job file's name
    log = "results/ring24.%j.out"   # default: next to the results, NAME.%j.out (arrays: NAME.%A_%a.out)
    template = "my.sbatch"     # default: slurm/fockmpi.sbatch of the installation
"""
import re
from dataclasses import dataclass, field

from ..errors import ConfigError


@dataclass
class SlurmSettings:
    ranks: int = 1
    nodes: int = None
    time: str = "1:00:00"
    partition: str = None
    account: str = None
    qos: str = None
    memory: float = None
    node_memory: float = None
    node_cores: int = None
    setup: list = field(default_factory=list)
    sbatch: list = field(default_factory=list)
    launcher: str = "srun"
    command: str = None
    warning: int = 300
    requeues: int = 20
    parallel: int = None
    job_name: str = None
    log: str = None
    template: str = None

    @property
    def time_seconds(self):
        return time_limit_seconds(self.time, "[slurm] time")


KEYS = {  # key: (kind, check)
    "ranks": ("int", (lambda v: v >= 1, "of at least 1")),
    "nodes": ("int", (lambda v: v >= 1, "of at least 1")),
    "time": ("time", None),
    "partition": ("str", None), "account": ("str", None), "qos": ("str", None),
    "memory": ("float", (lambda v: v > 0, "> 0 (GiB per node)")),
    "node_memory": ("float", (lambda v: v > 0, "> 0 (GiB per node)")),
    "node_cores": ("int", (lambda v: v >= 1, "of at least 1")),
    "setup": ("lines", None), "sbatch": ("lines", None),
    "launcher": ("str", (lambda v: bool(v.strip()), "(srun, mpirun or a launch command)")),
    "command": ("str", (lambda v: bool(v.strip()), "(the fockmpi command on the compute nodes)")),
    "warning": ("int", (lambda v: v >= 10, "of at least 10 seconds")),
    "requeues": ("int", (lambda v: v >= 0, "of 0 or more")),
    "parallel": ("int", (lambda v: v >= 1, "of at least 1")),
    "job_name": ("str", (lambda v: bool(re.fullmatch(r"[\w.+-]+", v)), "of letters, digits, . _ + -")),
    "log": ("str", (lambda v: bool(v.strip()), "(a file name; %j is the job id)")),
    "template": ("str", (lambda v: bool(v.strip()), "(a batch-script template file)")),
}

_TIME = re.compile(r"^(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?$")


def time_limit_seconds(text, key):
    """Seconds of a Slurm time limit: ``M``, ``M:S``, ``H:M:S``, ``D-H``, ``D-H:M``, ``D-H:M:S``."""
    if isinstance(text, int) and not isinstance(text, bool):
        text = str(text)
    m = _TIME.match(str(text).strip()) if isinstance(text, str) else None
    if not m:
        raise ConfigError(key, "a Slurm time limit: minutes, \"MM:SS\", \"HH:MM:SS\" or \"D-HH:MM:SS\"", text)
    days, a, b, c = m.groups()
    parts = [int(x) for x in (a, b, c) if x is not None]
    if days is not None:  # D-H, D-H:M, D-H:M:S
        h, mi, s = (parts + [0, 0])[:3]
        total = int(days) * 86400 + h * 3600 + mi * 60 + s
    elif len(parts) == 1:
        total = parts[0] * 60
    elif len(parts) == 2:
        total = parts[0] * 60 + parts[1]
    else:
        total = parts[0] * 3600 + parts[1] * 60 + parts[2]
    if total <= 0:
        raise ConfigError(key, "a positive time limit", text)
    return total


def slurm_from_table(table, overrides=None):
    """:class:`SlurmSettings` from the ``[slurm]`` table, then ``overrides`` (command-line
    values that are not None; their key in messages is ``--name``)."""
    s = SlurmSettings()
    for name, (kind, check) in KEYS.items():
        if name in table:
            setattr(s, name, _read(table, name, kind, check, table.key(name)))
    table.finish(extra_known=KEYS)
    for name, value in (overrides or {}).items():
        if value is None or value == []:
            continue
        kind, check = KEYS[name]
        flag = "--" + name.replace("_", "-")
        if kind == "lines":
            value = list(getattr(s, name)) + list(value)  # command-line lines add to the table's
        elif kind == "time":
            time_limit_seconds(value, flag)
        elif check is not None and not check[0](value):
            raise ConfigError(flag, f"a value {check[1]}", value)
        setattr(s, name, value)
    if s.warning >= s.time_seconds:
        raise ConfigError("--warning" if (overrides or {}).get("warning") is not None else "[slurm] warning", f"fewer seconds than the time limit ({s.time} = {s.time_seconds} s), "
                          "so the checkpoint signal comes before the end", s.warning)
    if s.nodes is not None and s.nodes > s.ranks:
        raise ConfigError("[slurm] nodes", f"at most as many nodes as ranks ({s.ranks})", s.nodes)
    return s


def _read(table, name, kind, check, key):
    if kind == "time":
        table.used.add(name)
        value = table.data[name]
        time_limit_seconds(value, key)
        return str(value)
    if kind == "lines":
        table.used.add(name)
        value = table.data[name]
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(key, "a string or a list of strings", value)
        if any("\n" in v for v in value):
            raise ConfigError(key, "one line per list entry", value)
        return list(value)
    return table.get(name, kind, check=check)
