"""A private venv per heavy Python dependency (PyTorch, matplotlib), filled from PyPI on first use.

`ensure(module, requirements, venv, script)` returns if `module` imports; otherwise it creates
`venv` if needed, pip-installs `requirements` into it if the module is missing there, and re-runs
`script` (with the same arguments) inside the venv. The Swift build and tests never need it.
"""
import os
import subprocess
import sys


def ensure(module, requirements, venv, script):
    try:
        __import__(module)
        return
    except ImportError:
        pass
    python = os.path.join(venv, "bin", "python")
    if os.path.realpath(sys.prefix) == os.path.realpath(venv):
        sys.exit(f"{module} is missing from {venv}; install it with: {python} -m pip install {' '.join(requirements)}")
    if not os.path.exists(python):
        print(f"creating {venv}", file=sys.stderr)
        subprocess.check_call([sys.executable, "-m", "venv", venv])
    if subprocess.run([python, "-c", f"import {module}"], capture_output=True).returncode != 0:
        print(f"installing {' '.join(requirements)} into {venv}", file=sys.stderr)
        subprocess.check_call([python, "-m", "pip", "install", "-q", *requirements])
    os.execv(python, [python, os.path.abspath(script)] + sys.argv[1:])
