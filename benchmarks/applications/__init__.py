"""Application problems from the linear-algebra literature, for ``bench_applications.py``.

Each problem is an :class:`Application` in :data:`APPLICATIONS`: its SymPy
statement, assumptions, sizes, a hand-written SciPy BLAS/LAPACK program and
the kernels a property-aware program must use.  Modules by field:
:mod:`.regression`, :mod:`.estimation`, :mod:`.optimization`,
:mod:`.inversion`, :mod:`.beamforming`.

``benchmarks/`` must be on ``sys.path`` (as when a script in it runs).

>>> len(APPLICATIONS) >= 20
True
>>> APPLICATIONS['gls'].structure
'Omega SPD: Cholesky, whitening TRSM, SYRK'
"""
from ._base import APPLICATIONS, Application, inputs, register
from . import regression, estimation, optimization, inversion, beamforming  # noqa: F401 (register)

__all__ = ['APPLICATIONS', 'Application', 'inputs', 'register']
