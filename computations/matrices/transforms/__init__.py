"""Program transforms: programs of operations to other programs of operations.

:mod:`.blocking` turns a program on whole matrices into one on blocks;
:mod:`.streaming` turns congruences into panel-streamed steps that never
hold their intermediate whole.
"""
