"""The command line, the layering rule, and the two Quick start commands."""
import ast
import pathlib
import re
import subprocess
import sys

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


def test_computations_source_never_imports_the_lower_layers():
    # The package computations/front_door/, the lazily loaded front door, is the one exception.
    front_door = ROOT / 'computations' / 'front_door'
    for path in (ROOT / 'computations').rglob('*.py'):
        if front_door in path.parents:
            continue
        for name in _absolute_imports(path):
            assert not _lower(name), (path, name)


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
