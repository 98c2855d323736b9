"""A solver's stray printf never reaches standard output (junheng/rules/quiet.py): commands print JSON there."""
import subprocess
import sys

SCRIPT = """
import ctypes
from junheng.rules import quiet
print("before", flush=True)
with quiet.stdout_to_stderr():
    ctypes.CDLL(None).printf(b"HighsMipSolverData::noise\\n")  # buffered by C, as HiGHS's is
print("after")
"""


def test_c_output_inside_goes_to_stderr_and_python_output_around_it_stays():
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True)
    assert done.stdout == "before\nafter\n"
    assert "HighsMipSolverData::noise" in done.stderr


def test_without_it_the_line_lands_on_stdout():
    # the test can fail: the same printf outside the block is on standard output
    script = SCRIPT.replace("with quiet.stdout_to_stderr():", "if True:")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert "HighsMipSolverData::noise" in done.stdout
