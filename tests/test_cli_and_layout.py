"""The command line, the layering rule, and the two Quick start commands."""
import ast
import pathlib
import re
import subprocess
import sys

from computations import cli

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


def test_computations_source_never_imports_the_lower_layers():
    # computations/front_door.py, the lazily loaded front door, is the one exception.
    for path in (ROOT / 'computations').rglob('*.py'):
        if path.name == 'front_door.py':
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ''] if isinstance(node, ast.ImportFrom) and not node.level
                     else [])
            for name in names:
                assert not _lower(name), (path, name)


def test_the_lower_layers_are_imported_by_their_installed_names():
    # The folders inplace/ and schedulers/ install as computations.inplace and
    # computations.schedulers; a top-level `import inplace` only works from a checkout.
    for path in ROOT.glob('*/**/*.py'):
        if path.parts[len(ROOT.parts)] in ('.venv', 'build', 'docs') or '_build' in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ''] if isinstance(node, ast.ImportFrom) and not node.level
                     else [])
            for name in names:
                assert name.split('.')[0] not in ('inplace', 'schedulers'), (path, name)


def test_ci_runs_exactly_the_readme_test_command():
    readme = (ROOT / 'README.md').read_text()
    quick = readme.split('## Quick start', 1)[1].split('\n## ', 1)[0]
    commands = re.findall(r'^\s*(\./dev \w+)\s*$', quick, flags=re.M)
    assert commands == ['./dev demo', './dev test']
    ci = [line for line in (ROOT / '.ci' / 'run').read_text().splitlines()
          if line and not line.startswith('#') and not line.startswith(('set ', 'cd '))]
    assert ci == ['exec ./dev test']
