"""The command line, the layering rule, and the two Quick start commands."""
import ast
import pathlib
import re
import subprocess
import sys

import pytest

from computations.front_door import cli

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_cli_prints_the_program_and_writes_pictures(tmp_path, capsys):
    svg, png = tmp_path / 'm.svg', tmp_path / 'm.png'
    assert cli.main(['show', 'minmax', '--svg', str(svg), '--png', str(png)]) == 0
    out = capsys.readouterr().out
    assert 'x = A(w)\n' in out and 'Min(x, y), Max(x, y) = MinMax(x, y)' in out
    assert svg.read_bytes().startswith(b'<?xml') and png.read_bytes().startswith(b'\x89PNG')


def test_python_dash_m_runs_the_main_job(tmp_path):
    # ./dev demo runs `python -m computations run kalman ...`; here smaller.
    out = subprocess.run([sys.executable, '-m', 'computations', 'run', 'kalman', '--size', 'n=40',
                          '--size', 'k=10', '--check', '--svg', str(tmp_path / 'd.svg')],
                         capture_output=True, text=True, check=True).stdout
    assert '[SYRK]' in out and ': OK' in out and (tmp_path / 'd.svg').exists()


def test_the_demo_runs_the_kalman_filter():
    dev = (ROOT / 'dev').read_text()
    assert 'set -- run kalman --check --bench --svg out/kalman.svg' in dev


def test_cli_rejects_unknown_example(capsys):
    try:
        cli.main(['nonsense'])
    except SystemExit as exit:
        assert exit.code == 2
    assert "invalid choice: 'nonsense'" in capsys.readouterr().err


def test_version_comes_from_the_package(capsys):
    import computations
    with pytest.raises(SystemExit) as exit:
        cli.main(['--version'])
    assert exit.value.code == 0
    assert capsys.readouterr().out == f'computations {computations.__version__}\n'
    out = subprocess.run([sys.executable, '-m', 'computations', '--version'],
                         capture_output=True, text=True, check=True).stdout
    assert out == f'computations {computations.__version__}\n'


PROBLEM_FILES = {
    'unparsable.py': 'import sympy\nA = sympy.MatrixSymbol("A", 3, 3\n',
    'raises.py': 'import sympy\nA = sympy.MatrixSymbol("A", 3, 3)\ninputs = [A]\n'
                 'outputs = [A*B]\n',
    'uncompilable.py': 'import sympy\nA = sympy.MatrixSymbol("A", 3, 3)\ninputs = [A]\n'
                       'outputs = [sympy.exp(A)]\n',
    'unsized.py': 'import sympy\nn = sympy.Symbol("n")\nA = sympy.MatrixSymbol("A", n, n)\n'
                  'inputs = [A]\noutputs = [A*A]\n',
    # unsupported and unsized: the expression is the error, whatever the sizes
    'unsized_hadamard.py': 'import sympy\nn = sympy.Symbol("n")\n'
                           'A = sympy.MatrixSymbol("A", n, n)\ninputs = [A]\n'
                           'outputs = [sympy.HadamardProduct(A, A)]\n',
    # the file's own ValueError was shown bare, as if the command had said it
    'value_error.py': 'raise ValueError("no data today")\n',
    'exits.py': 'import sys\nsys.exit(3)\n',
    'zero_size.py': 'import sympy\nn = sympy.Symbol("n")\nA = sympy.MatrixSymbol("A", n, n)\n'
                    'inputs = [A]\noutputs = [A*A]\nsizes = {"n": 0}\n',
}


@pytest.mark.parametrize('argv, code, says', [
    (['run', 'nonsense'], 2, "unknown problem 'nonsense'"),
    (['run', 'missing.py'], 2, 'cannot read missing.py'),
    (['run', 'kalman', '--size', 'n=0'], 2, '--size wants DIM=N with N a positive integer'),
    (['run', 'kalman', '--size', 'q=3'], 2, 'kalman has no dimension q'),
    (['run', 'kalman', '--size', 'n=3', '--size', 'n=4'], 2, 'n is given twice (n=3 too)'),
    (['run', 'unparsable.py'], 2, 'cannot parse unparsable.py: line 2'),
    (['run', 'raises.py'], 2, "raises.py raised NameError: name 'B' is not defined"),
    (['run', 'uncompilable.py'], 1, 'cannot compile uncompilable.py: '
                                    'UnsupportedExpressionError: exp(A)'),
    (['run', 'unsized.py'], 2, '(pass --size n=N): the dimension n is unbound'),
    (['run', 'unsized_hadamard.py'], 1, 'cannot compile unsized_hadamard.py: '
                                        'UnsupportedExpressionError: HadamardProduct(A, A)'),
    (['run', 'value_error.py'], 2, 'value_error.py raised ValueError: no data today'),
    (['run', 'exits.py'], 2, 'exits.py exited (sys.exit(3)) instead of defining a problem'),
    (['run', 'zero_size.py'], 2, "zero_size.py: sizes['n'] must be a positive integer, got 0"),
])
def test_cli_errors_are_one_line(argv, code, says, tmp_path, monkeypatch, capsys):
    for name, text in PROBLEM_FILES.items():
        (tmp_path / name).write_text(text)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit:
        cli.main(argv)
    assert exit.value.code == code
    captured = capsys.readouterr()
    assert captured.err.startswith('computations: error: ') and captured.err.count('\n') == 1
    assert says in captured.err and 'Traceback' not in captured.err


@pytest.mark.parametrize('text, reference', [
    # lambdify cannot print a trace of a product: the kit's evaluator checks it (it raised)
    ('import sympy\nn = sympy.Symbol("n")\nA, B = (sympy.MatrixSymbol(s, n, n) for s in "AB")\n'
     'inputs = [A, B]\noutputs = [sympy.Trace(A*B)]\n', "the testing kit's evaluator"),
    # an orthogonal input's data was not orthogonal, so a right program FAILED its check
    ('import sympy\nn = sympy.Symbol("n")\nU = sympy.MatrixSymbol("U", n, n)\n'
     'b = sympy.MatrixSymbol("b", n, 1)\ninputs = [U, b]\noutputs = [U.I*b]\n'
     'assumptions = [sympy.Q.orthogonal(U)]\n', 'lambdify'),
])
def test_check_passes_right_programs_it_cannot_lambdify_or_with_orthogonal_inputs(
        text, reference, tmp_path, monkeypatch, capsys):
    (tmp_path / 'problem.py').write_text(text)
    monkeypatch.chdir(tmp_path)
    assert cli.main(['run', 'problem.py', '--size', 'n=5', '--check']) == 0
    assert f'check against NumPy ({reference}): out0 relative error' in capsys.readouterr().out


def test_a_file_may_give_one_input_and_named_outputs(tmp_path, monkeypatch, capsys):
    """``inputs = A`` was read as tuple(A), no inputs at all; ``outputs = {'sq': ...}`` as
    the dict's keys (review)."""
    (tmp_path / 'one.py').write_text('import sympy\nn = sympy.Symbol("n")\n'
                                     'A = sympy.MatrixSymbol("A", n, n)\n'
                                     'inputs = A\noutputs = {"sq": A*A}\n')
    monkeypatch.chdir(tmp_path)
    assert cli.main(['run', 'one.py', '--size', 'n=3', '--check']) == 0
    out = capsys.readouterr().out
    assert 'sq := A**2' in out and 'sq relative error 0' in out


def test_a_missing_dot_is_one_line(tmp_path, monkeypatch, capsys):
    import graphviz
    from computations import pictures

    def missing(*args, **kwargs):
        raise graphviz.ExecutableNotFound(['dot'])
    monkeypatch.setattr(pictures, 'write', missing)
    with pytest.raises(SystemExit) as exit:
        cli.main(['show', 'minmax', '--svg', str(tmp_path / 'x.svg')])
    assert exit.value.code == 1
    assert "graphviz's dot program is not installed" in capsys.readouterr().err


def test_a_failing_command_prints_no_traceback(tmp_path):
    (tmp_path / 'unparsable.py').write_text(PROBLEM_FILES['unparsable.py'])
    done = subprocess.run([sys.executable, '-m', 'computations', 'run', 'unparsable.py'],
                          capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr == ("computations: error: cannot parse unparsable.py: line 2: "
                           "'(' was never closed\n")


def test_bench_pins_the_blas_threads_and_reports_medians(capsys):
    from threadpoolctl import threadpool_info

    def blas_threads():
        return {pool['num_threads'] for pool in threadpool_info() if pool['user_api'] == 'blas'}

    before = blas_threads()
    seen = []
    threads, times = cli._bench({'a': lambda: seen.append(blas_threads()),
                                 'b': lambda: None}, 3, threads=1)
    assert threads == 1 and seen == [{1}] * 4               # warm-up and 3 rounds, pinned
    assert sorted(times) == ['a', 'b'] and all(t >= 0 for t in times.values())
    assert blas_threads() == before                         # and released after
    assert cli.main(['run', 'kalman', '--size', 'n=40', '--size', 'k=10', '--bench',
                     '--repeat', '3', '--threads', '1']) == 0
    line = capsys.readouterr().out.splitlines()[-1]
    assert line.startswith('bench (median of 3, alternating, BLAS pinned to 1 thread): '
                           'compiled ')


def test_bench_alternates_the_contestants():
    calls = []
    cli._alternate({'a': lambda: calls.append('a'), 'b': lambda: calls.append('b')}, 4)
    assert ''.join(calls) == 'ab' + 'abbaabba'              # warm-up, then alternating


def test_bench_without_threadpoolctl_says_so(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, 'threadpoolctl', None)
    with pytest.raises(SystemExit) as exit:
        cli.main(['run', 'least_squares', '--size', 'n=30', '--size', 'p=3', '--bench'])
    assert exit.value.code == 1
    assert capsys.readouterr().err == ('computations: error: --bench needs the package '
                                       'threadpoolctl to pin the BLAS threads '
                                       '(pip install threadpoolctl)\n')


def _readme_commands():
    """The command lines the README and the docs show, as argument lists for the CLI:
    ``computations ARGS``, ``python -m computations ARGS`` and ``./dev demo ARGS`` in
    backquotes."""
    pattern = re.compile(r'`(?:python -m computations|computations|\./dev demo) ([^`]+)`')
    for path in [ROOT / 'README.md', *sorted((ROOT / 'docs').glob('*.md'))]:
        for match in pattern.finditer(path.read_text()):
            yield path.name, match.group(1).split()


def test_the_readme_commands_parse():
    commands = list(_readme_commands())
    assert any(args[:2] == ['run', 'kalman'] for _, args in commands)
    parser = cli._parser()
    wrong = []
    for name, args in commands:
        try:
            parser.parse_args(args)
        except SystemExit as exit:                  # --version exits 0, a mistake 2
            if exit.code:
                wrong.append((name, ' '.join(args)))
    assert wrong == []


LOWER = ('computations.inplace', 'computations.schedulers', 'inplace', 'schedulers')


def _lower(name):
    """Whether a module name is in the storage or execution layer (or their old names)."""
    return any(name == layer or name.startswith(layer + '.') for layer in LOWER)


def test_importing_computations_loads_neither_inplace_nor_schedulers():
    code = ('import sys, computations, computations.examples, computations.pictures, '
            'computations.matrices; '
            'print(sorted(m for m in sys.modules if m.split(".")[0] in ("inplace", "schedulers") '
            'or m.split(".")[:2] in (["computations", "inplace"], ["computations", "schedulers"])))')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == '[]'


def _absolute_imports(path):
    """The modules a Python file imports by absolute name, anywhere in it."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level:
            yield node.module or ''


def _imported_modules(path):
    """The modules a file of the computations package imports, relative imports resolved
    against its package, and ``from X import Y`` read as X and X.Y (Y may be a module:
    ``from computations import inplace``)."""
    package = list(path.relative_to(ROOT).with_suffix('').parts[:-1])
    if path.name == '__init__.py':
        package = list(path.relative_to(ROOT).parts[:-1])
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            module = '.'.join(base + ([node.module] if node.module else []))
            yield module
            yield from (f'{module}.{a.name}' for a in node.names)


def test_computations_source_never_imports_the_lower_layers():
    # The exceptions: the package computations/front_door/, the lazily loaded front door, and
    # computations/testing/, the testing kit, loaded only when imported.
    exempt = (ROOT / 'computations' / 'front_door', ROOT / 'computations' / 'testing')
    for path in (ROOT / 'computations').rglob('*.py'):
        if any(folder in path.parents for folder in exempt):
            continue
        for name in _imported_modules(path):
            assert not _lower(name), (path, name)


def test_the_layering_check_sees_relative_imports(tmp_path, monkeypatch):
    """It read absolute names only: ``from .. import schedulers`` and ``from computations
    import inplace`` passed it (review)."""
    folder = ROOT / 'computations' / 'matrices'
    for line, name in [('from .. import schedulers', 'computations.schedulers'),
                       ('from computations import inplace', 'computations.inplace'),
                       ('from ..inplace import check', 'computations.inplace'),
                       ('from . import ops', 'computations.matrices.ops')]:
        probe = folder / '_layering_probe.py'
        monkeypatch.setattr(type(probe), 'read_text', lambda self, line=line: line)
        assert name in set(_imported_modules(probe)), line
    assert _lower('computations.schedulers') and not _lower('computations.matrices.ops')


def test_the_lower_layers_are_imported_by_their_installed_names():
    # The folders inplace/ and schedulers/ install as computations.inplace and
    # computations.schedulers; a top-level `import inplace` only works from a checkout.
    for path in ROOT.glob('*/**/*.py'):
        if path.parts[len(ROOT.parts)] in ('.venv', 'build', 'docs') or '_build' in path.parts:
            continue
        for name in _absolute_imports(path):
            assert name.split('.')[0] not in ('inplace', 'schedulers'), (path, name)


def test_ci_runs_exactly_the_readme_test_command():
    readme = (ROOT / 'README.md').read_text()
    quick = readme.split('## Quick start', 1)[1].split('\n## ', 1)[0]
    commands = re.findall(r'^\s*(\./dev \w+)\s*$', quick, flags=re.M)
    assert commands == ['./dev demo', './dev test']
    ci = [line for line in (ROOT / '.ci' / 'run').read_text().splitlines()
          if line and not line.startswith('#') and not line.startswith(('set ', 'cd '))]
    assert ci == ['exec ./dev test']


def test_importing_computations_does_not_load_the_drawing_libraries():
    # networkx and graphviz cost ~0.12 s to import; they load on the first drawing.
    code = ('import sys, computations, computations.matrices; c = computations.Computation(["x"], ["y"]); '
            'print(sorted(m for m in ("networkx.algorithms", "graphviz.backend") if m in sys.modules)); '
            'c.to_networkx(); print("networkx.algorithms" in sys.modules)')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         check=True).stdout.split('\n')
    assert out[:2] == ['[]', 'True']


def _module_level(tree):
    """The statements of a module that run when it is imported (not function bodies)."""
    todo = list(tree.body)
    while todo:
        node = todo.pop()
        yield node
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            todo.extend(ast.iter_child_nodes(node))


def _module_imports():
    """``{module: set of modules it imports when it is imported}`` over the three folders,
    by installed names (imports inside functions run later, and are not counted: the lazily
    loaded front door is one)."""
    folders = {'computations': 'computations', 'inplace': 'computations.inplace',
               'schedulers': 'computations.schedulers'}
    paths = {}
    for folder, package in folders.items():
        for path in (ROOT / folder).rglob('*.py'):
            parts = list(path.relative_to(ROOT / folder).with_suffix('').parts)
            if parts[-1] == '__init__':
                parts = parts[:-1]
            paths['.'.join([package, *parts])] = path
    imports = {}
    for name, path in paths.items():
        package = name if path.name == '__init__.py' else name.rpartition('.')[0]
        found = set()
        for node in _module_level(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ''
                if node.level:
                    up = package.split('.')[:len(package.split('.')) - node.level + 1]
                    base = '.'.join(up + ([base] if base else []))
                found.update(f'{base}.{a.name}' if f'{base}.{a.name}' in paths else base
                             for a in node.names)
        imports[name] = {m for m in found if m in paths and m != name}
    return imports


def test_no_import_cycles_between_modules():
    # A cycle works only by luck of the import order (or by a function-level import
    # dodging it); there is none, through packages' __init__ modules included.
    import networkx
    graph = networkx.DiGraph([(a, b) for a, targets in _module_imports().items()
                              for b in targets])
    cycles = list(networkx.simple_cycles(graph))
    assert cycles == [], cycles[:5]
