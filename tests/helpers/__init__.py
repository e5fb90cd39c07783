"""What the tests share that is not a fixture: paths of the checkout, builders of fake inputs
(images, CIFAR files, run folders, zoo entries) and the readers of a real solo-learn run.

Plain functions and constants live here because the tests call them with their own arguments
or need them at import time (``parametrize`` lists, module constants); the fixtures built from
them are in ``tests/unit/conftest.py`` and ``tests/integration/conftest.py``. No test module
imports another test module or a ``conftest.py``.
"""
