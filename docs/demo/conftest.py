# Makes `shapes` importable when the demo runs from the repository root.
from __future__ import annotations

import os
import sys


sys.path.insert(0, os.path.dirname(__file__))
