"""The private CPU-PyTorch environment shared by the scripts in this folder.

PyTorch stays out of the Swift build and the default tests; a script that needs it calls
`ensure_torch(__file__)`, which re-runs the script inside a venv (created and filled by pip on
first use: torch==2.13.0+cpu, found locally by pip on these machines).
"""
import os
import subprocess
import sys

VENV = os.environ.get("SNN_TORCH_VENV", "/tmp/snn-torch-venv")
TORCH = "torch==2.13.0+cpu"


def ensure_torch(script):
    """Return if torch imports; otherwise exec `script` with the same arguments in the venv."""
    try:
        import torch  # noqa: F401
        return
    except ImportError:
        pass
    python = os.path.join(VENV, "bin", "python")
    if os.path.realpath(sys.prefix) == os.path.realpath(VENV):
        sys.exit(f"torch is missing from {VENV}; install it with: {python} -m pip install {TORCH}")
    if not os.path.exists(python):
        print(f"creating {VENV}", file=sys.stderr)
        subprocess.check_call([sys.executable, "-m", "venv", VENV])
    check = subprocess.run([python, "-c", "import torch"], capture_output=True)
    if check.returncode != 0:
        print(f"installing {TORCH} into {VENV}", file=sys.stderr)
        subprocess.check_call([python, "-m", "pip", "install", "-q", TORCH, "numpy"])
    os.execv(python, [python, os.path.abspath(script)] + sys.argv[1:])
