"The book and its front page agree: README == index notebook, every notebook is in the index, names match modules."
import json, re, subprocess, sys, configparser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'tools'))
import book

NBS = sorted(p for p in (ROOT / 'nbs').glob('*.ipynb') if p.stem != 'index' and not p.name.startswith('_'))

def test_readme_is_generated_from_index():
    assert (ROOT / 'README.md').read_text(encoding='utf-8') == book.readme_text(), 'run `make readme`'

def test_every_notebook_is_linked_from_index():
    index = book.readme_text()
    missing = [p.name for p in NBS if f'({p.name})' not in index]
    assert not missing, f'add these to the table in nbs/index.ipynb: {missing}'

def test_notebook_name_matches_module():
    "`01_flow_matching.ipynb` exports `omnitalker/flow_matching.py` (STYLE.md)."
    for p in NBS:
        cells = json.loads(p.read_text(encoding='utf-8'))['cells']
        exp = [m.group(1) for c in cells for m in re.finditer(r'^#\|\s*default_exp\s+(\S+)', ''.join(c['source']), re.M)]
        if exp: assert p.stem.split('_', 1)[1] == exp[0].split('.')[0], (p.name, exp)

def test_readme_test_command_is_ci():
    "CI runs exactly the README's test command."
    ci = (ROOT / '.ci' / 'run').read_text()
    assert 'make test' in (ROOT / 'README.md').read_text() and re.search(r'^make test$', ci, re.M)

def test_settings():
    cfg = configparser.ConfigParser(); cfg.read(ROOT / 'settings.ini')
    d = cfg['DEFAULT']
    assert d['lib_name'] == 'omnitalker' and d['nbs_path'] == 'nbs' and d['lib_path'] == 'omnitalker'
    assert d['tst_flags'].split() == ['slow', 'gpu'] and d['readme_nb'] == 'index.ipynb'
    assert 'torchvision' not in d['requirements'] and 'torchaudio' not in d['requirements']

def test_docs_prepare_skips_flagged_cells_and_hides_hidden_ones():
    import nbformat
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell('#| default_exp x'),
        nbformat.v4.new_code_cell('#| hide\nfrom fastcore.test import *'),
        nbformat.v4.new_code_cell('#| slow\ntrain(10_000)'),
        nbformat.v4.new_code_cell('x = 1'),
        nbformat.v4.new_code_cell('#| hide\nimport nbdev; nbdev.nbdev_export()')])
    cells = book.prepare(nb).cells
    assert [c.cell_type for c in cells] == ['code', 'markdown', 'raw', 'code']
    assert cells[0].metadata['book_hidden'] and cells[2].source == 'train(10_000)' and 'slow' in cells[1].source
