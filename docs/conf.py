"""Sphinx configuration for the ``computations`` documentation site.

Build it by hand from the repository root::

    .venv/bin/python -m sphinx -W --keep-going -b html docs docs/_build/html

``tests/test_docs.py`` builds the same site with warnings as errors, so a
docstring that stops rendering cleanly fails the test suite.
"""
import importlib
import inspect
import os
import pkgutil
import re
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
sys.path.insert(0, ROOT)

import computations  # noqa: E402  (after the path is set)

project = 'computations'
author = 'the computations developers'
copyright = '2026, the computations developers'
release = computations.__version__
version = '.'.join(release.split('.')[:2])

extensions = [
    'myst_parser',
    'sphinx.ext.autodoc',
    'sphinx.ext.napoleon',
    'sphinx.ext.viewcode',
]
# napoleon: the numpydoc sections (Parameters, Returns, Examples) of
# ``computations.function`` and ``Computation`` render as field lists, not as
# headings of the page.  Only for functions, classes and modules
# (:func:`numpy_sections`): napoleon would read an attribute's ``#:`` comment
# "x (None: nowhere)" as a type and a description, so its own hook is off.
# "Attributes" and "Raises" stay as written, under a heading: autodoc documents
# the attributes themselves, and function's Raises lists the call's errors in a
# paragraph after the compile-time ones, which a typed section would misread.
napoleon_google_docstring = False
napoleon_numpy_docstring = False
napoleon_custom_sections = ['Attributes', 'Raises']

source_suffix = {'.rst': 'restructuredtext', '.md': 'markdown'}
root_doc = 'index'
exclude_patterns = ['_build', 'Thumbs.db', '.DS_Store']

# MyST (Markdown pages): ``[text](path){.external}`` leaves a link alone (the
# notebooks, which live outside the site, are linked that way).
myst_enable_extensions = ['attrs_inline']
myst_heading_anchors = 3

# autodoc: every module's ``__all__``, in source order.
autodoc_member_order = 'bysource'
autodoc_default_options = {
    'members': True,
    'show-inheritance': True,
}

#: The project's own packages: autodoc documents only what they define.
PACKAGES = ('computations', 'computations.inplace', 'computations.schedulers')
#: The one top-level name they install under.
TOP = 'computations'


def skip_foreign(app, what, name, obj, skip, options):
    """Skip classes and functions that a module re-exports from another library.

    ``computations.matrices.expressions`` lists SymPy's ``LofCholesky`` in its
    ``__all__``; its reference is SymPy's, and SymPy's docstring is not ours to
    keep warning-free.
    """
    if inspect.isclass(obj) or inspect.isfunction(obj):
        module = getattr(obj, '__module__', None) or ''
        if module.split('.')[0] != TOP:
            return True
    return None


def _locate(path):
    """The object a dotted path names, following attributes as Python does, or None."""
    parts = path.split('.')
    if parts[0] != TOP:
        return None
    try:
        obj = importlib.import_module(parts[0])
        for i, part in enumerate(parts[1:], 1):
            try:
                obj = getattr(obj, part)
            except AttributeError:
                obj = importlib.import_module('.'.join(parts[:i + 1]))
    except ImportError:
        return None
    return obj


def resolve_exported(app, env, node, contnode):
    """Resolve a reference to a name by where it is defined, if not found where it is exported.

    The packages export their public names (``computations.Computation``,
    ``computations.function``, ``computations.inplace.check``...), and the pages and
    docstrings refer to them by those names; autodoc documents each object once,
    in its defining module (``computations.core.Computation``).
    """
    if node.get('refdomain') != 'py':
        return None
    target = node.get('reftarget', '')
    module = node.get('py:module')
    for path in (target, f'{module}.{target}' if module else None):
        obj = _locate(path) if path else None
        defined_in = getattr(obj, '__module__', None)
        qualname = getattr(obj, '__qualname__', None)
        if not (isinstance(defined_in, str) and isinstance(qualname, str)):
            continue
        canonical = f'{defined_in}.{qualname}'
        if canonical != path:
            return env.get_domain('py').resolve_xref(env, node['refdoc'], app.builder,
                                                     node['reftype'], canonical, node, contnode)
    return None


def modules():
    """Every module of the three packages (``__main__`` scripts aside), packages first."""
    names = []
    for package in PACKAGES:
        if package not in names:
            names.append(package)
        path = importlib.import_module(package).__path__
        names += [info.name for info in pkgutil.walk_packages(path, package + '.')
                  if not info.name.endswith('.__main__') and info.name not in names]
    return names


def document_every_module(app, docname, source):
    """Complete the API page with the modules ``api.rst`` does not list.

    ``api.rst`` lists the modules in a reading order, layer by layer; a module
    added since goes after the last module listed from its nearest enclosing
    package, so the reference never misses one.
    """
    if docname != 'api':
        return
    text = source[0]
    for name in modules():
        if re.search(rf'^\.\. automodule:: {re.escape(name)}$', text, re.M):
            continue
        at, parent = len(text), name
        while '.' in parent:
            parent = parent.rpartition('.')[0]
            listed = list(re.finditer(rf'^\.\. automodule:: {re.escape(parent)}(\.[\w.]+)?\n'
                                      r'(   :.*\n)*', text, re.M))
            if listed:
                at = listed[-1].end()
                break
        title = f'``{name}``'
        text = f'{text[:at]}\n{title}\n{"~" * len(title)}\n\n.. automodule:: {name}\n{text[at:]}'
    source[0] = text


def numpy_sections(app, what, name, obj, options, lines):
    """Render the numpydoc sections of functions', classes' and modules' docstrings."""
    if what in ('function', 'method', 'class', 'exception', 'module'):
        from sphinx.ext.napoleon.docstring import NumpyDocstring
        lines[:] = NumpyDocstring(lines, app.config, app, what, name, obj, options).lines()


def setup(app):
    app.connect('autodoc-process-docstring', numpy_sections)
    app.connect('source-read', document_every_module)
    app.connect('autodoc-skip-member', skip_foreign)
    app.connect('missing-reference', resolve_exported)


html_theme = 'alabaster'
html_title = 'computations'
# docs/_static/custom.css: the sidebar title on one line, long code lines wrapped.
html_static_path = ['_static']
html_theme_options = {
    'description': 'SymPy matrix expressions compiled into checked BLAS/LAPACK programs',
    'fixed_sidebar': True,
    # Wider than the theme's 940px: code gets about 90 columns before it wraps
    # (narrower windows switch to the theme's one-column layout below this).
    'page_width': '1100px',
    'sidebar_width': '230px',
}
