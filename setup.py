"""The one part of the build that ``pyproject.toml`` cannot declare: the Hydra configs, kept at
``scripts/pretrain/<dataset>/`` and ``scripts/linear/<dataset>/`` in the repository (where users
point ``--config-path``), ship inside the package as ``solo_tase/configs/{pretrain,linear}/``.

Each folder is mapped onto a package of its own (``package_dir``) whose data are its YAML files, so
``pip install .``, ``pip wheel .`` and an sdist all carry them, and nothing else under
``scripts/`` ends up in the package. ``solo_tase.config_folders`` finds them there.
"""

from setuptools import find_packages, setup

CONFIGS = {f"solo_tase.configs.{kind}": f"scripts/{kind}" for kind in ("pretrain", "linear")}

setup(
    packages=[*find_packages(include=["solo_tase", "solo_tase.*"]), *CONFIGS],
    package_dir=CONFIGS,
    package_data={package: ["**/*.yaml"] for package in CONFIGS},
)
