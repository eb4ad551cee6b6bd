"""Pictures degrade to text when graphviz's ``dot`` binary is missing.

The Python package ``graphviz`` is a runtime dependency; the ``dot`` binary it
runs is not (``apt-get install graphviz``).  Without it, Jupyter's display of a
computation, a token program or a compiled function offers the text form only,
and asking for a picture explicitly (``write``, ``svg``) raises graphviz's
:class:`graphviz.ExecutableNotFound`, which says what is missing.

Each test runs with ``PATH`` pointing at an empty folder, so graphviz's
subprocess cannot find ``dot``.
"""
import shutil

import graphviz
import pytest
import sympy
from IPython.core.formatters import DisplayFormatter

import computations
from computations import Computation, pictures
from computations.examples import minmax
from computations.inplace import inplace_compile
from computations.matrices import GEMM, SCAL


@pytest.fixture
def no_dot(monkeypatch, tmp_path):
    """A PATH on which there is no ``dot``."""
    monkeypatch.setenv('PATH', str(tmp_path))
    assert shutil.which('dot') is None
    return tmp_path


def token_program():
    X = sympy.MatrixSymbol('X', 3, 3)
    return inplace_compile(SCAL(2, X) + GEMM(1, X, X), donate=[X])


@pytest.mark.parametrize('make', [minmax, token_program], ids=['computation', 'token program'])
def test_the_rich_display_is_the_text_form(no_dot, make):
    comp = make()
    assert comp._repr_mimebundle_() == {'text/plain': str(comp)}
    assert pictures.repr_svg(comp) is None


def test_a_compiled_function_displays_its_signature_and_program(no_dot):
    A = sympy.MatrixSymbol('A', 4, 4)
    f = computations.function([A], [A * A.T], names=['C'])
    assert f._repr_mimebundle_() == {'text/plain': str(f)}
    assert str(f).startswith('function(A) -> C\n')


def test_repr_svg_is_none(no_dot):
    assert minmax()._repr_svg_() is None


def test_ipython_shows_the_text_without_a_traceback(no_dot, capsys):
    """IPython asks ``_repr_mimebundle_`` first, then each ``_repr_*_`` for what it lacked;
    a formatter that raises prints a traceback in the notebook."""
    comp = minmax()
    data, _ = DisplayFormatter().format(comp)
    assert set(data) == {'text/plain'}
    assert data['text/plain'] == str(comp)
    assert capsys.readouterr().err == ''


def test_pictures_asked_for_explicitly_say_dot_is_missing(no_dot):
    comp = Computation(['x'], ['y'])
    with pytest.raises(graphviz.ExecutableNotFound, match='dot'):
        comp.write(no_dot / 'c.svg')
    with pytest.raises(graphviz.ExecutableNotFound, match='dot'):
        pictures.svg(comp)
    assert not (no_dot / 'c.svg').exists()


def test_the_drawing_itself_needs_no_binary(no_dot):
    """``dot()`` builds the graphviz source in Python: it works without the binary."""
    assert 'MinMax' in minmax().dot().source
