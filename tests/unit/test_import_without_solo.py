"""The plugin imports without solo-learn; only its glue needs it, with the install hint."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = r"""
import sys
sys.modules["solo"] = None  # make `import solo` fail as if solo-learn were not installed
import solo_tase, solo_tase.losses, solo_tase.tail.kmeans.backend, solo_tase.methods.tase_state
import solo_tase.data.digits, solo_tase.eval.metrics, solo_tase.zoo.card, solo_tase.cli.main
from solo_tase.solo_compat import solo_available
assert not solo_available()
from solo_tase.methods import register_methods
try:
    register_methods()
except ImportError as err:
    print("HINT:", err)
try:
    import solo_tase.plugin
except ImportError as err:
    print("PLUGIN:", err)
"""


def test_package_imports_and_glue_explains_how_to_install_solo_learn():
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert "HINT: solo-learn is not installed" in proc.stdout
    assert "PLUGIN: solo-learn is not installed" in proc.stdout
    assert "checkout 9187ea3" in proc.stdout
    assert "--no-deps --no-build-isolation" in proc.stdout
