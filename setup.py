"""Map the design card's top-level folders under the one import namespace ``cropmrv``.

``geo/`` installs as ``cropmrv.geo``, ``db/`` as ``cropmrv.db`` and so on: generic names such as
``api`` or ``db`` must not land at the top of site-packages, where they would collide with other
distributions. Everything else is declared in pyproject.toml.
"""

from setuptools import find_namespace_packages, setup

FOLDERS = {"cropmrv": "cropmrv", "cropmrv.geo": "geo", "cropmrv.ingest": "ingest", "cropmrv.mrv": "mrv",
           "cropmrv.db": "db", "cropmrv.api": "api", "cropmrv.maps": "maps"}

packages = []
for pkg, folder in FOLDERS.items():
    packages.append(pkg)
    packages += [f"{pkg}.{sub}" for sub in find_namespace_packages(folder, exclude=["*__pycache__*"])]

setup(package_dir=FOLDERS, packages=packages)
