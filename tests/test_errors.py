"""Every error class of the library pickles, with its message and attributes (issue 17, item 10).

The classes are discovered by walking the three packages (computations,
inplace, schedulers) with :mod:`pkgutil`, so a class added later is tested
too: it must derive from :class:`computations.graph.ComputationsError`
(whose ``__reduce__`` rebuilds it without calling ``__init__``) and have an
entry in :data:`EXAMPLES`, representative constructor arguments.  Each
example round-trips through :mod:`pickle` and :mod:`cloudpickle` (what
multiprocessing, joblib and Dask use) with the same type, message, ``args``
and attributes.
"""
import importlib
import inspect
import pickle
import pkgutil

import cloudpickle
import numpy as np
import pytest
import sympy
from sympy import Determinant, Inverse, MatrixSymbol

import computations
from computations import inplace, schedulers
from computations import Computation
from computations.matrices import GEMM, POSV
from computations.inplace import ExprToken, TokenComputation

A, B = MatrixSymbol('A', 3, 3), MatrixSymbol('B', 3, 3)
T = MatrixSymbol('T', 3, 3)
N, K = sympy.symbols('n k')
FIRST, SECOND = Computation(['x'], ['y']), Computation(['z'], ['y'])
_GEMM = GEMM(1, A, B, 1, B)
WRITER = TokenComputation(_GEMM, [str(v) for v in _GEMM.inputs], ['B'])      # B = A*B + B

#: class name -> (positional arguments, keyword arguments) for a representative instance.
EXAMPLES = {
    'BatchShapeError': (('the batch dimensions of the inputs do not broadcast together (S: (3,), B: (4,))',), {}),
    'ProblemError': (("unknown problem 'nonsense': give one of kalman, least_squares, gls or the path of a Python file",), {}),
    'CommandError': (("problem 'kalman' failed to compile: no rule can compute X",), {}),
    'DtypeError': (('input M is complex (complex128); only real matrices are supported',), {}),
    'UnboundSizeError': (('the FLOPs of GEMM', sympy.Symbol('n') * 2, {sympy.Symbol('k'): 3}), {}),
    'DonateError': (('X', 'is not an input of the computation (inputs: A)'), {}),
    'OverwriteCycleError': (('no order is safe: the overwrites form a cycle',), {'cycle': ('GEMM', 'POTRF')}),
    'AmbiguousOrderError': (("A**2@t and B*C@t share buffer 't' in no order the data says",), {}),
    'ComputationsError': (('something failed',), {}),
    '_RewriteCycle': (('A*(x + y)',), {}),
    '_OutOfBudget': ((), {}),
    'RoutineError': (('POSV', A + A.T, 3), {}),
    'NotPositiveDefiniteError': (('POSV', A + A.T, 2), {}),
    'SingularMatrixError': (('GETRF', A * B, 1), {}),
    'NotPositiveDeterminantError': (('LU_DETERMINANT', Determinant(A), -2.5), {}),
    'SingularExpressionError': ((Inverse(T - T.T), T - T.T, 'it is the zero matrix'), {}),
    'UnsupportedExpressionError': (('exp(A) (exp) is not supported',), {}),
    'CycleError': ((['y', FIRST, 'x', SECOND],), {}),
    'ConflictingProducersError': (('y', FIRST, SECOND), {}),
    'UnsafeInplaceError': (('GEMM overwrites B, which POSV still reads',),
                           {'operation': WRITER, 'token': 'B', 'value': ExprToken(B, 'B'),
                            'reader': POSV(A, B), 'cycle': (WRITER,)}),
    'UndefinedAtSizeError': ((N / (N - 1) * MatrixSymbol('x', N, 1), {N: 1}), {}),
    'SingularZeroError': ((Inverse(MatrixSymbol('X', N, K) * MatrixSymbol('Y', K, N)),
                           {K: 0, N: 3}), {}),
    'AssumptionError': (('S violates Q.symmetric(S): S[0, 1] != S[1, 0]',), {}),
    'UsageError': (('unknown problem kalmann',), {}),
    'DaskArgumentError': (('input A', 'has unknown chunk sizes'), {}),
    'NothingToComputeError': (('GEMM(1, I, B) computes B, which is already one of its inputs',),
                              {}),
    'RechunkWarning': ((N, ('A', 'B'), 100, 'chunks irregular or not alike'), {}),
}


def _modules():
    """Every module of the three packages (``__main__`` excluded: importing it runs the CLI)."""
    for package in (computations, inplace, schedulers):
        yield package
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + '.'):
            if not info.name.endswith('__main__'):
                yield importlib.import_module(info.name)


def _error_classes():
    found = {}
    for module in _modules():
        for name, cls in vars(module).items():
            if inspect.isclass(cls) and issubclass(cls, BaseException) \
                    and cls.__module__ == module.__name__:
                found[f'{module.__name__}.{name}'] = cls
    return found


ERRORS = _error_classes()


def test_the_walk_finds_the_errors_of_every_layer():
    modules = {'.'.join(cls.__module__.split('.')[:2]) for cls in ERRORS.values()}
    assert {'computations.matrices', 'computations.inplace'} <= modules
    assert 'computations.matrices.errors.NotPositiveDefiniteError' in ERRORS


@pytest.mark.parametrize('path', sorted(ERRORS))
def test_every_error_class_is_a_computations_error_with_an_example(path):
    cls = ERRORS[path]
    assert issubclass(cls, computations.graph.ComputationsError), \
        f'{path} must derive from computations.graph.ComputationsError, so that it pickles'
    assert cls.__name__ in EXAMPLES, f'add representative arguments for {path} to EXAMPLES'


def _same(a, b):
    """Equal values, arrays compared by value."""
    if isinstance(a, np.ndarray):
        return np.array_equal(a, b)
    return type(a) is type(b) and a == b


@pytest.mark.parametrize('dumps, loads', [(pickle.dumps, pickle.loads),
                                          (cloudpickle.dumps, pickle.loads)],
                         ids=['pickle', 'cloudpickle'])
@pytest.mark.parametrize('path', sorted(ERRORS))
def test_every_error_round_trips_with_its_message_and_attributes(path, dumps, loads):
    cls = ERRORS[path]
    args, kwargs = EXAMPLES[cls.__name__]
    error = cls(*args, **kwargs)
    error.add_note('raised while testing')
    copy = loads(dumps(error))
    assert type(copy) is cls
    assert str(copy) == str(error) and copy.args == error.args
    assert copy.__notes__ == ['raised while testing']
    assert vars(copy).keys() == vars(error).keys() and vars(error)
    for name, value in vars(error).items():
        assert _same(getattr(copy, name), value), name


def test_a_not_positive_definite_error_crosses_a_process_boundary():
    """The issue's example: the error a worker process raises (here the executors' own
    ``check_info``, on POSV's info = 2) reaches the parent intact."""
    import concurrent.futures
    import multiprocessing
    from computations.schedulers.kernels import check_info
    context = multiprocessing.get_context('spawn')
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=context) as pool:
        future = pool.submit(check_info, POSV(A, B), 2)
        with pytest.raises(computations.matrices.NotPositiveDefiniteError,
                           match='POSV: A is not positive definite') as raised:
            future.result()
    assert (raised.value.operation, raised.value.expression, raised.value.info) == ('POSV', A, 2)


def test_an_error_copies():
    """copy.copy uses the same protocol as pickle."""
    import copy
    error = computations.matrices.SingularMatrixError('GETRF', A, 2)
    assert str(copy.copy(error)) == str(error) and copy.deepcopy(error).info == 2


def test_the_sympy_shape_of_a_message_survives():
    """The message is kept as it was, not rebuilt from the attributes (it may be custom)."""
    error = computations.matrices.errors.RoutineError('TRSM', A, 1, 'custom message')
    assert str(pickle.loads(pickle.dumps(error))) == 'custom message'
    assert isinstance(error, np.linalg.LinAlgError) and isinstance(error, ValueError)
    assert sympy.srepr(pickle.loads(pickle.dumps(error)).expression) == sympy.srepr(A)
