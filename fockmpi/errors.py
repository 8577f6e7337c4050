"""Exceptions of fockmpi.

Every error a user can cause by what they wrote (job file, operator string, sector) is an
:class:`InputError`; the CLI prints its message once and exits with status 2, without a
traceback.  Everything else that goes wrong at run time (no convergence, a missing library)
is a :class:`FockmpiError` with exit status 1.

This module imports nothing from fockmpi, so every stage can raise these.
"""
import difflib


class FockmpiError(Exception):
    """Base class of all fockmpi errors.  ``exit_code`` is what the CLI returns."""

    exit_code = 1

    def __reduce__(self):
        # errors travel between ranks pickled (parallel.raise_collectively); rebuild them from
        # the final message, not by calling __init__ again with other arguments
        return (_rebuild, (type(self), str(self), dict(self.__dict__)))


def _rebuild(cls, message, state):
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    error.__dict__.update(state)
    return error


class InputError(FockmpiError):
    """Something the user wrote is wrong (job file, operator, sector).  Exit status 2."""

    exit_code = 2


class ConfigError(InputError):
    """A key of the job file is missing, unknown, or has the wrong type or value.

    The message names the key (``[section] key``), what was expected and what was found,
    and, for a misspelled key or value, the closest valid spelling.
    """

    def __init__(self, key, expected=None, found=None, hint=None, message=None):
        self.key = key
        if message is None:
            message = f"{key}: expected {expected}"
            if found is not None:
                message += f", found {_describe(found)}"
        if hint:
            message += f" ({hint})"
        super().__init__(message)


class OperatorError(InputError):
    """An operator string or operator term cannot be understood or does not fit the space."""


class SectorError(InputError):
    """A symmetry sector is impossible or empty, or a term breaks a declared charge."""


class HermiticityError(InputError):
    """The Hamiltonian is not hermitian."""


class CapacityError(InputError):
    """The problem does not fit the build (e.g. dimension beyond 32-bit PETSc indices)."""


class OutputExistsError(InputError):
    """The results file exists already and ``--force`` was not given."""


class StackError(FockmpiError):
    """petsc4py, slepc4py, mpi4py or h5py is missing or of the wrong kind."""


class ConvergenceError(FockmpiError):
    """The eigensolver did not converge the requested number of eigenpairs."""


# words users write for a choice, by meaning: a suggestion must never be the opposite of what
# was meant ('lowest' is closer in spelling to 'largest' than to 'smallest')
SYNONYMS = {
    "smallest": ("lowest", "low", "min", "minimum", "minimal", "ground", "groundstate", "ground_state",
                 "bottom", "smallest_real", "sr", "sa"),
    "largest": ("highest", "high", "max", "maximum", "maximal", "top", "biggest", "largest_real", "lr", "la"),
    "target": ("nearest", "closest", "interior", "shift", "around", "target_real", "tr"),
    "periodic": ("pbc", "periodical", "torus", "ring", "cyclic", "closed"),
    "open": ("obc", "free", "hard", "finite"),
}


def did_you_mean(word, candidates):
    """Return ``"did you mean 'x'?"`` for the closest of ``candidates``, or ``None``.

    A known synonym wins over spelling (``'lowest'`` -> ``'smallest'``); a word that is a
    synonym of something not among the candidates gets no suggestion rather than a wrong one.
    """
    text = str(word).strip().lower()
    names = [str(c) for c in candidates]
    for meaning, words in SYNONYMS.items():
        if text in words:
            return f"did you mean '{meaning}'?" if meaning in names else None
    close = difflib.get_close_matches(str(word), names, n=1, cutoff=0.5)
    if close:
        return f"did you mean '{close[0]}'?"
    return None


def _describe(value):
    """Short description of a found value for error messages: repr plus type name."""
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({type(value).__name__})"


CHECKPOINTED_EXIT = 75  # EX_TEMPFAIL: stopped after a checkpoint (or by SIGTERM/SIGUSR1); run again with --resume


class Checkpointed(FockmpiError):
    """The run stopped after writing a checkpoint (a signal asked it to)."""

    exit_code = CHECKPOINTED_EXIT
