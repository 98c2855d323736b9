"""Standard output kept for what a command prints (issue 23): HiGHS 1.16's integer program solver (highspy's, and the
one scipy.optimize.milp bundles) can printf a debug line ("HighsMipSolverData::transformNewIntegerFeasibleSolution
tmpSolver.run();") whatever its options say. A command that prints JSON (`junheng published --json`, `junheng plan
--json`, where opening the data may protect a year or plan a county) must print nothing else there."""
from __future__ import annotations

from contextlib import contextmanager


@contextmanager
def stdout_to_stderr():
    """File descriptor 1 sent to standard error meanwhile; C's buffered output flushed before it is back."""
    import ctypes
    import os
    import sys
    sys.stdout.flush()
    libc = ctypes.CDLL(None)
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        libc.fflush(None)
        os.dup2(saved, 1)
        os.close(saved)
