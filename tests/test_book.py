"The book and its front page agree: README == index notebook, every notebook is in the index, names match modules."
import json, os, re, subprocess, sys, configparser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'tools'))
import book

NBS = sorted(p for p in (ROOT / 'nbs').glob('*.ipynb') if p.stem != 'index' and not p.name.startswith('_'))

def test_readme_is_generated_from_index():
    assert (ROOT / 'README.md').read_text(encoding='utf-8') == book.readme_text(), 'run `make readme`'

def test_every_notebook_is_linked_from_index():
    index = book.readme_text()
    missing = [p.name for p in NBS if f'(nbs/{p.name})' not in index]
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

def test_docs_prepare_marks_cells_in_place():
    "Export cells and slow/gpu cells are not run, hidden cells run and leave the page; no cell moves (figures maps outputs back by position)."
    import nbformat
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell('#| default_exp x'),
        nbformat.v4.new_code_cell('#| hide\nfrom fastcore.test import *'),
        nbformat.v4.new_code_cell('#| slow\ntrain(10_000)'),
        nbformat.v4.new_code_cell('x = 1'),
        nbformat.v4.new_code_cell('#| hide\nimport nbdev; nbdev.nbdev_export()')])
    cells = book.prepare(nb).cells
    assert len(cells) == 5
    tags = [c.metadata.get('tags', []) for c in cells]
    assert tags == [['skip-execution'], [], ['skip-execution', 'slow'], [], ['skip-execution']]
    assert [bool(c.metadata.get('book_hidden')) for c in cells] == [True, True, False, False, True]
    shown = book.for_page(nb).cells
    assert [c.source for c in shown] == ['train(10_000)', 'x = 1']

def test_stored_outputs_keep_what_teaches():
    "Pictures, printed text and tables are stored; stderr, errors, widget views and inlined players are not."
    import nbformat
    v4 = nbformat.v4
    c = v4.new_code_cell('x', outputs=[v4.new_output('stream', name='stdout', text=f'loss 0.1 in {book.ROOT}/runs/a\n'),
                                       v4.new_output('stream', name='stderr', text='100%|####|\n'),
                                       v4.new_output('display_data', data={'image/png': 'iVBO', 'text/plain': '<Figure>'}),
                                       v4.new_output('display_data', data={'application/vnd.jupyter.widget-view+json': {'model_id': 'a'}}),
                                       v4.new_output('error', ename='E', evalue='e', traceback=[]),
                                       v4.new_output('display_data', data={'text/html': '<audio controls><source src="data:audio/wav;base64,UklG"></audio>'}),
                                       v4.new_output('execute_result', data={'text/plain': '3'}, execution_count=7)])
    kept = book.stored_outputs(c)
    assert book.smaller_picture({'image/png': 'iVBO'}) == {'image/png': 'iVBO'}     # small pictures stay PNG
    assert [o.output_type for o in kept] == ['stream', 'display_data', 'execute_result'] and kept[2]['execution_count'] is None
    assert kept[0]['text'] == 'loss 0.1 in runs/a\n'                                  # no absolute path of this checkout

def test_large_pictures_are_stored_with_a_palette():
    "A photograph-sized PNG is stored as a smaller PNG of the same size and nearly the same pixels; its other representations stay."
    import base64, io
    import numpy as np
    from PIL import Image
    y, x = np.mgrid[:384, :384] // 2
    img = np.stack([x, y, (x + y) // 2], -1).astype(np.uint8) + np.random.default_rng(0).integers(0, 8, (384, 384, 3), dtype=np.uint8)
    buf = io.BytesIO(); Image.fromarray(img).save(buf, 'PNG')
    png = base64.b64encode(buf.getvalue()).decode()
    out = book.smaller_picture({'image/png': png, 'text/plain': '<Figure>'})
    assert set(out) == {'image/png', 'text/plain'} and len(out['image/png']) < len(png) / 2
    back = np.asarray(Image.open(io.BytesIO(base64.b64decode(out['image/png']))).convert('RGB')).astype(int)
    assert back.shape == img.shape and np.abs(back - img).mean() < 6

def test_readme_links_work_from_the_root():
    assert book.readme_links('[01](01_flow_matching.ipynb), [lab](lab/x.ipynb#a), [w](https://x.org/a.ipynb), [n](nbs/02.ipynb)') == \
        '[01](nbs/01_flow_matching.ipynb), [lab](nbs/lab/x.ipynb#a), [w](https://x.org/a.ipynb), [n](nbs/02.ipynb)'

def test_docs_pages_work_offline(tmp_path):
    "Two chapters rendered as `make docs` renders them (executed; MPLBACKEND=Agg as in `make test`): figures inline,"
    " every script and stylesheet local, the math typeset (no raw TeX left), and previous/next/index links."
    from bs4 import BeautifulSoup
    env = {**os.environ, 'MPLBACKEND': 'Agg'}
    subprocess.run([sys.executable, str(ROOT / 'tools' / 'book.py'), 'docs', '--out', str(tmp_path), '04_face', '10_renderer'],
                   check=True, env=env, timeout=600, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for name in ('04_face', '10_renderer'):
        soup = BeautifulSoup((tmp_path / f'{name}.html').read_text(encoding='utf-8'), 'html.parser')
        imgs = soup.find_all('img')
        assert imgs and all(i['src'].startswith('data:image/png') for i in imgs), name
        srcs = [t.get('src') or t.get('href') for t in soup.find_all(['script', 'link']) if t.get('src') or t.get('href')]
        assert srcs and not [s for s in srcs if re.match(r'\w+://|//', s)], (name, srcs)
        assert all((tmp_path / s).exists() for s in srcs), (name, srcs)
        assert soup.select('.katex') and not soup.select('.math-error'), name
        for t in soup(['script', 'style', 'annotation']): t.decompose()    # annotation: KaTeX's MathML copy of the source, not shown
        text = soup.get_text()
        assert '$$' not in text and not re.search(r'\$[^$\n]{0,80}\\(frac|mathcal|mathbb|theta|sum|int|cdot|approx)\b', text), name
        rels = {a.get('rel')[0] for a in soup.select('nav.book-nav a')}
        assert rels == {'index', 'prev', 'next'}, (name, rels)
