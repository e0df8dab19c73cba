"""The Azure Linux-shaped test distribution: Debian binaries repackaged as RPMs under Azure Linux 4.0's names.

It is a test distribution, NOT Azure Linux: see docs/testdistro.md for what it is made of, the
shortcuts it takes and what it cannot show. Built by `python -m sample.testdistro.build OUTDIR`.
"""
