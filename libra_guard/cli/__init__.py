"""The ``libra-guard`` command line: it only wires commands to library functions."""
