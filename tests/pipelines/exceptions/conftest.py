from __future__ import annotations

import sys
from pathlib import Path

# The helpers beside these tests (exc_support) import under any pytest import mode.
sys.path.insert(0, str(Path(__file__).parent))
