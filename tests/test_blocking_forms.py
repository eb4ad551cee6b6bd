"""Operations of a blocked program built from their form (``blocking.state.operation``).

Blocking builds thousands of operations of a few forms; the first of each form
is built by its constructor on stand-in symbols, the others take its props and
outputs with their own blocks substituted::

    GEMM(-1, _block0, _block1, 1, _block2)        built once (SymPy simplifies)
        -> GEMM(-1, A[0,0], B[0,0], 1, C[0,0])    props and outputs substituted
        -> GEMM(-1, A[1,0], B[0,1], 1, C[1,1])    ...

The operation must be the constructor's in every respect a program sees.
"""
import pytest
import sympy
from sympy import MatrixSymbol

from computations import CompositeComputation
from computations.matrices import (AXPY, GEMM, GEMV, POTRF, SCAL, SHIFT, SYMM, SYRK, TRANSPOSE,
                                   TRMM, TRSM)
from computations.matrices.examples.kalman import kalman_program
from computations.matrices.transforms import blocking
from computations.matrices.transforms.blocking import block, blockers, state
from computations.matrices.transforms.blocking.state import operation


def blocks(*names, shape=(3, 3)):
    return [MatrixSymbol(f'{name}[0,0]', *shape) for name in names]


A, B, C, D = blocks('A', 'B', 'C', 'D')
x, y = blocks('x', 'y', shape=(3, 1))

CASES = [
    (GEMM, (1, A, B), {}),
    (GEMM, (-1, A, B, 1, C), {'trans_b': True}),
    (GEMM, (2, A, B, -1, C), {'trans_a': True, 'trans_b': True}),
    (GEMM, (1, A, A), {}),                         # one block twice: A**2
    (GEMM, (1, A, A, 1, C), {'trans_b': True}),
    (SYMM, (1, A, B, 1, C), {'side': 'R'}),
    (SYMM, (-1, A, B), {'side': 'L'}),
    (GEMV, (1, A, x, -1, y), {}),
    (GEMV, (-1, A, x, 1, y), {'trans': True}),
    (SYRK, (-1, A, 1, C), {}),
    (SYRK, (1, A), {'trans': True}),
    (TRSM, (1, A, B), {'side': 'R', 'lower': True, 'trans_a': True}),
    (TRSM, (-1, A, B), {}),
    (TRMM, (1, A, B), {'side': 'L', 'lower': False, 'unit_diagonal': True}),
    (POTRF, (A,), {}),
    (AXPY, (3, A, B), {}),
    (SCAL, (-2, A), {}),
    (SHIFT, (2, A), {}),
    (TRANSPOSE, (A,), {}),
]


@pytest.mark.parametrize('cls, args, kwargs', CASES)
def test_operation_is_the_constructors(cls, args, kwargs):
    for _ in range(2):                             # the first builds the form, the second reuses it
        made, wanted = operation(cls, *args, **kwargs), cls(*args, **kwargs)
        assert made == wanted and hash(made) == hash(wanted) and str(made) == str(wanted)
        assert type(made) is cls and made.props == wanted.props
        assert made.inputs == wanted.inputs and made.input_arguments == wanted.input_arguments
        assert made.inplace == wanted.inplace and made.flops == wanted.flops
        assert [out.doit() for out in made.outputs] == [out.doit() for out in wanted.outputs]
        assert not any(str(s).startswith('_block') for out in made.outputs
                       for s in out.atoms(MatrixSymbol))


def test_operation_substitutes_other_blocks_of_a_form():
    """The second operation of a form is made from the first's, on its own blocks."""
    first = operation(GEMM, -1, A, B, 1, C, trans_b=True)
    other = operation(GEMM, -1, D, C, 1, B, trans_b=True)
    assert other == GEMM(-1, D, C, 1, B, trans_b=True) != first
    assert other.outputs[0].doit() == GEMM(-1, D, C, 1, B, trans_b=True).outputs[0]


def test_operation_keeps_equal_arguments_apart_from_distinct_ones():
    """``A*A`` and ``A*B`` are different forms (the first is ``A**2``)."""
    assert operation(GEMM, 1, A, A).outputs == (A ** 2,)
    assert operation(GEMM, 1, A, B).outputs == (A * B,)
    assert operation(GEMM, 1, B, B).outputs == (B ** 2,)


def test_operation_raises_the_constructors_error_on_the_real_blocks():
    P, R = blocks('P', 'R', shape=(2, 3))
    with pytest.raises(sympy.ShapeError, match=r'P\[0,0\].*R\[0,0\]'):
        operation(GEMM, 1, P, R)
    with pytest.raises(sympy.ShapeError, match=r'P\[0,0\]'):      # again: no form was kept
        operation(GEMM, 1, P, R)


def test_operation_forms_are_bounded(monkeypatch):
    monkeypatch.setattr(state, '_FORMS', {})
    monkeypatch.setattr(state, 'FORMS_LIMIT', 2)
    for n in range(2, 7):
        X = MatrixSymbol('X', n, n)
        assert operation(SCAL, 2, X) == SCAL(2, X)
        assert len(state._FORMS) <= 2


def test_blocked_programs_are_those_of_the_constructors(monkeypatch):
    """Blocking with forms gives the program blocking with the constructors gives."""
    n, k = sympy.Symbol('n', integer=True, positive=True), sympy.Symbol('k', integer=True,
                                                                        positive=True)
    program = kalman_program(n, k)
    dims = {n: 7, k: 5}
    fast = block(program, 2, dims)
    constructor = lambda cls, *args, **kwargs: cls(*args, **kwargs)       # noqa: E731
    monkeypatch.setattr(state, 'operation', constructor)
    monkeypatch.setattr(blockers, 'operation', constructor)
    slow = block(program, 2, dims)
    assert isinstance(fast, CompositeComputation)
    assert fast == slow and str(fast) == str(slow)
    assert blocking.block is block
