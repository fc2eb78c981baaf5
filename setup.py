"""Package discovery for setuptools; every other setting is in pyproject.toml.

`adapters/` and `prompts/` sit at the top of the repository but install as
`alliance_monitor.adapters` and `alliance_monitor.prompts` (ARCHITECTURE.md, "Layout").
pyproject.toml's `packages.find` cannot rename what it finds, so the three roots are searched
here: every folder under them is a package (data folders such as `alliance_monitor/data`
included, as namespace packages), and a new sub-package can never be left out of the wheel.
Package data is every file in those folders (pyproject.toml, `package-data`).
"""

from __future__ import annotations

from setuptools import find_namespace_packages, setup

#: Installed package name -> folder in the repository.
ROOTS = {
    "alliance_monitor": "alliance_monitor",
    "alliance_monitor.adapters": "adapters",
    "alliance_monitor.prompts": "prompts",
}


def discover() -> list[str]:
    found: set[str] = set()
    for name, folder in ROOTS.items():
        found.add(name)
        for sub in find_namespace_packages(folder, exclude=["*__pycache__*"]):
            found.add(f"{name}.{sub}")
    return sorted(found)


setup(packages=discover(), package_dir=ROOTS)
