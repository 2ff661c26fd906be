"""The book around the notebooks, without quarto (which no registry here ships).

    python tools/book.py readme            # README.md from nbs/index.ipynb
    python tools/book.py readme --check    # exit 1 if README.md is out of step with nbs/index.ipynb
    python tools/book.py docs --out _docs  # execute every notebook (slow/gpu cells skipped) -> HTML + index

Cells with `#| hide` are left out of both; `#| slow` and `#| gpu` cells are shown but not run in docs
(the same rule as `make test`), with a note saying so.
"""
import argparse, json, re, sys, time, html
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NBS = ROOT / 'nbs'
SKIP_FLAGS = {'slow', 'gpu'}
HEADER = '<!-- generated from nbs/index.ipynb by `make readme`: edit the notebook, not this file -->\n\n'

def directives(src: str) -> set:
    "nbdev directives at the top of a cell: `#| export` -> {'export'}."
    out = set()
    for line in src.splitlines():
        m = re.match(r'^#\|\s*([\w-]+)', line)
        if m: out.add(m.group(1))
        elif line.strip(): break
    return out

def strip_directives(src: str) -> str: return re.sub(r'^#\|.*\n?', '', src, flags=re.M).strip('\n')

def cell_src(c) -> str: return ''.join(c['source']) if isinstance(c['source'], list) else c['source']

def readme_text(nb_path: Path = NBS / 'index.ipynb') -> str:
    "Markdown of the index notebook: markdown cells as they are, visible code cells as ```python blocks."
    nb = json.loads(nb_path.read_text(encoding='utf-8'))
    parts = []
    for c in nb['cells']:
        src = cell_src(c)
        if c['cell_type'] == 'markdown': parts.append(src.strip('\n'))
        elif c['cell_type'] == 'code' and not (directives(src) & {'hide', 'default_exp', 'export', 'exporti'}):
            body = strip_directives(src)
            if body: parts.append(f'```python\n{body}\n```')
    return HEADER + '\n\n'.join(parts) + '\n'

def cmd_readme(args):
    text, path = readme_text(), ROOT / 'README.md'
    if args.check:
        if path.read_text(encoding='utf-8') != text:
            sys.exit('README.md is out of step with nbs/index.ipynb: run `make readme`')
        print('README.md matches nbs/index.ipynb'); return
    path.write_text(text, encoding='utf-8'); print(f'wrote {path}')

def prepare(nb):
    "Drop export calls; mark hidden cells (run, then removed); turn slow/gpu cells into shown-but-not-run cells."
    import nbformat
    cells = []
    for c in nb.cells:
        d = directives(c.source) if c.cell_type == 'code' else set()
        if 'default_exp' in d or 'nbdev_export()' in c.source: continue
        if 'hide' in d: c.metadata['book_hidden'] = True
        if d & SKIP_FLAGS:
            cells.append(nbformat.v4.new_markdown_cell(f"*This cell is flagged `{'`, `'.join(sorted(d & SKIP_FLAGS))}` and is not run when the docs are built:*"))
            cells.append(nbformat.v4.new_raw_cell(strip_directives(c.source)))
            continue
        cells.append(c)
    nb.cells = cells
    return nb

def cmd_docs(args):
    import nbformat
    from nbclient import NotebookClient
    from nbconvert import HTMLExporter
    out = Path(args.out); out.mkdir(parents=True, exist_ok=True)
    paths = sorted((p for p in NBS.glob('*.ipynb') if not p.name.startswith('_')), key=lambda p: (p.stem != 'index', p.stem))
    pages = []
    for p in paths:
        t0 = time.time()
        nb = prepare(nbformat.read(p, as_version=4))
        NotebookClient(nb, timeout=900, kernel_name='python3', resources={'metadata': {'path': str(NBS)}}).execute()
        nb.cells = [c for c in nb.cells if not c.metadata.get('book_hidden')]
        for c in nb.cells:  # show code without nbdev's directive lines
            if c.cell_type == 'code': c.source = strip_directives(c.source)
        body, _ = HTMLExporter(exclude_input_prompt=True, exclude_output_prompt=True).from_notebook_node(nb)
        body = re.sub(r'href="([\w.-]+)\.ipynb', r'href="\1.html', body)
        name = p.stem + '.html'
        (out / name).write_text(body, encoding='utf-8')
        title = next((l[2:] for c in nb.cells if c.cell_type == 'markdown' for l in c.source.splitlines() if l.startswith('# ')), p.stem)
        pages.append((name, title))
        print(f'{p.name:<32} {time.time() - t0:6.1f} s -> {out / name}')
    links = '\n'.join(f'<li><a href="{n}">{html.escape(t)}</a> <code>{n[:-5]}</code></li>' for n, t in pages)
    (out / 'contents.html').write_text(f'<!doctype html><meta charset="utf-8"><title>omnitalker</title>'
        f'<h1>omnitalker — the notebooks</h1><ol>{links}</ol>', encoding='utf-8')
    # the landing page is the rendered index notebook with the contents list on top
    nav = f'<nav style="padding:1em;border-bottom:1px solid #ccc"><b>Notebooks:</b><ol>{links}</ol></nav>'
    index_path = out / 'index.html'
    index = index_path.read_text(encoding='utf-8') if index_path.exists() else '<!doctype html><meta charset="utf-8"><body></body>'
    index_path.write_text(re.sub(r'(<body[^>]*>)', lambda m: m.group(1) + nav, index, count=1), encoding='utf-8')
    print(f'{len(pages)} pages; open {out / "index.html"}')

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest='cmd', required=True)
    r = sub.add_parser('readme'); r.add_argument('--check', action='store_true'); r.set_defaults(fn=cmd_readme)
    d = sub.add_parser('docs'); d.add_argument('--out', default=str(ROOT / '_docs')); d.set_defaults(fn=cmd_docs)
    a = ap.parse_args(); a.fn(a)
