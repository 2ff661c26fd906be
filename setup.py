# nbdev's classic setup.py, reading settings.ini; `packaging.version` replaces the removed `pkg_resources`.
from packaging.version import parse as parse_version
from configparser import ConfigParser
import setuptools, shlex
assert parse_version(setuptools.__version__) >= parse_version('36.2')

config = ConfigParser(delimiters=['='])
config.read('settings.ini', encoding='utf-8')
cfg = config['DEFAULT']

cfg_keys = 'version description keywords author author_email'.split()
expected = cfg_keys + "lib_name user branch license status min_python audience language".split()
for o in expected: assert o in cfg, "missing expected setting: {}".format(o)
setup_cfg = {o: cfg[o] for o in cfg_keys}

licenses = {
    'apache2': ('Apache Software License 2.0', 'OSI Approved :: Apache Software License'),
    'mit': ('MIT License', 'OSI Approved :: MIT License'),
}
statuses = ['1 - Planning', '2 - Pre-Alpha', '3 - Alpha', '4 - Beta', '5 - Production/Stable', '6 - Mature', '7 - Inactive']
py_versions = '3.10 3.11 3.12 3.13'.split()

requirements = shlex.split(cfg.get('requirements', ''))
if cfg.get('pip_requirements'): requirements += shlex.split(cfg.get('pip_requirements', ''))
min_python = cfg['min_python']
lic = licenses.get(cfg['license'].lower(), (cfg['license'], None))
dev_requirements = (cfg.get('dev_requirements') or '').split()
eval_requirements = shlex.split(cfg.get('eval_requirements', ''))    # optional: offline speech recogniser and speech quality (nb 08, 11, 15)
scale_requirements = shlex.split(cfg.get('scale_requirements', ''))  # optional: Ray for curating on a cluster (nb 08)

# The shipped samples and tiny checkpoints travel in the wheel as `omnitalker/data_samples/` (found there by
# `omnitalker.config.data_dir`), mapped from the checkout's `data_samples/` so git holds one copy. Files are named by
# pattern, folder by folder (each folder a data-only package): a stray file dropped into data_samples/ stays out.
sample_files = {'omnitalker.data_samples': ['README.md', 'arctic_a0007.COPYING', 'arctic_a0007.wav', 'reference_arctic_a0007.*'],
                'omnitalker.data_samples.checkpoints': ['*_tiny.json', '*_tiny.recipe.json', '*_tiny.safetensors'],
                'omnitalker.data_samples.world': ['sample_?.json', 'sample_?.mp4', 'sample_?.mel.npy', 'sample_?.motion.npz'],
                'omnitalker.data_samples.f5_fixture': ['f5_small.json', 'f5_small.safetensors', 'f5_small_parity.safetensors', 'vocab.txt']}

project_urls = {}
if cfg.get('doc_host'): project_urls["Documentation"] = cfg['doc_host'] + cfg.get('doc_baseurl', '')

setuptools.setup(
    name=cfg['lib_name'],
    license=lic[0],
    classifiers=[
        'Development Status :: ' + statuses[int(cfg['status'])],
        'Intended Audience :: ' + cfg['audience'].title(),
        'Natural Language :: ' + cfg['language'].title(),
    ] + ['Programming Language :: Python :: ' + o for o in py_versions[py_versions.index(min_python):]]
      + (['License :: ' + lic[1]] if lic[1] else []),
    url=cfg['git_url'],
    packages=setuptools.find_packages(include=['omnitalker', 'omnitalker.*']) + list(sample_files),
    package_dir={'omnitalker.data_samples': 'data_samples'},
    package_data=sample_files,
    include_package_data=True,
    install_requires=requirements,
    extras_require={'dev': dev_requirements + eval_requirements + scale_requirements, 'eval': eval_requirements, 'scale': scale_requirements},
    dependency_links=cfg.get('dep_links', '').split(),
    python_requires='>=' + cfg['min_python'],
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    zip_safe=False,
    entry_points={
        'console_scripts': cfg.get('console_scripts', '').split(),
        'nbdev': [f'{cfg.get("lib_path")}={cfg.get("lib_path")}._modidx:d'],
    },
    project_urls=project_urls,
    **setup_cfg)
