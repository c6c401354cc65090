"""cstbox-export: gets sensor data off CSTBox gateways."""

from setuptools import setup, find_namespace_packages

setup(
    name='cstbox-export',
    version='1.0.0',
    description='CSTBox events export: windows, formats, uploads and a crash-safe backlog',
    author='CSTBox export team',
    license='LGPL-3.0-or-later',
    python_requires='>=3.11',
    packages=find_namespace_packages(include=['pycstbox.*']),
    # the JSON Schema of "cbx-export status --json" (DESIGN section 13)
    package_data={'pycstbox.export': ['status.schema.json']},
    # plain scripts, not console_scripts entry points: the generated wrapper looks the
    # distribution up with importlib.metadata at every start (cbx-export --help 4.4x
    # python3 -c pass instead of 1.3x, issue 15)
    scripts=['bin/cbx-export', 'bin/cbx-exportd', 'bin/cbx-evtdb'],
)
