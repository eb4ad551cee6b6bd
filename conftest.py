"""Collect the doctests of inplace/ and schedulers/ under their installed names.

The folders install as ``computations.inplace`` and ``computations.schedulers``
(``package_dir`` in setup.cfg).  pytest's doctest collection names a module
after its folder (``inplace.check``) and would import a second copy of it,
with its own classes and registries; aliasing those names to the installed
modules makes it find the one copy instead.  Library code never uses the
folder names (tests/test_cli_and_layout.py checks every import).
"""
import importlib
import pkgutil
import sys

FOLDERS = {'inplace': 'computations.inplace', 'schedulers': 'computations.schedulers'}


def _alias(folder, package_name):
    package = importlib.import_module(package_name)
    sys.modules.setdefault(folder, package)
    for info in pkgutil.walk_packages(package.__path__, package_name + '.'):
        if info.name.endswith('.__main__'):
            continue
        module = importlib.import_module(info.name)
        sys.modules.setdefault(folder + info.name[len(package_name):], module)


def pytest_configure(config):
    for folder, package_name in FOLDERS.items():
        _alias(folder, package_name)
