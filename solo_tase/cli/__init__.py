"""The ``solo-tase`` command line: one module per sub-command group, found automatically."""
