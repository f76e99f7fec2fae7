from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

ROOT = Path(__file__).resolve().parent.parent
#: Present beside the project in CI; tests that need it say so when it is absent.
SPEC_DIR = ROOT.parent / "shared" / "spec"
CONFORMANCE = SPEC_DIR / "conformance.jsonl"
