"""The private CPU-PyTorch environment shared by the scripts in this folder.

PyTorch stays out of the Swift build and the default tests; a script that needs it calls
`ensure_torch(__file__)`, which re-runs the script inside a venv (created and filled by pip on
first use: torch==2.13.0+cpu, found locally by pip on these machines).
"""
import os
import sys

VENV = os.environ.get("SNN_TORCH_VENV", "/tmp/snn-torch-venv")
TORCH = "torch==2.13.0+cpu"


sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from private_venv import ensure  # noqa: E402


def ensure_torch(script):
    """Return if torch imports; otherwise exec `script` with the same arguments in the venv."""
    ensure("torch", [TORCH, "numpy"], VENV, script)


def write_safetensors(path, tensors, metadata):
    """Writes (name, tensor) pairs as float32 safetensors with `metadata`, atomically (tmp + rename)."""
    import json
    import struct
    import torch
    header, offset, blobs = {"__metadata__": metadata}, 0, []
    for name, t in tensors:
        data = t.detach().to(torch.float32).contiguous().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)
