"""backend and frontend never import torch: the API and UI start fast in small images."""

from __future__ import annotations

import subprocess
import sys


def test_backend_and_frontend_do_not_load_torch():
    code = (
        "import sys\n"
        "from backend.api.main import create_app\n"
        "from backend.cli import build_parser\n"
        "import frontend.app\n"
        "create_app(); frontend.app.create_app('http://127.0.0.1:1')\n"
        "heavy = ('torch', 'transformer_lens', 'transformers')\n"
        "print(','.join(sorted(m for m in heavy if m in sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
