"""The book around the notebooks, without quarto (which no registry here ships).

    python tools/book.py readme                  # README.md from nbs/index.ipynb
    python tools/book.py readme --check          # exit 1 if README.md is out of step with nbs/index.ipynb
    python tools/book.py docs [--out _docs] [NB ...]   # execute the notebooks -> HTML pages that work offline
    python tools/book.py docs --stored           # the same from the outputs stored in the notebooks (no kernel)
    python tools/book.py figures [NB ...]        # execute the notebooks and store their teaching outputs in nbs/

How a notebook is run (docs and figures alike): each in its own kernel, in `nbs/`, with matplotlib's inline backend
(`MPLBACKEND` is removed from the kernel's environment: with it set to Agg, as `make test` sets it, a kernel shows no
figure) and no progress bars (`TQDM_DISABLE`). Cells flagged `#| slow` or `#| gpu` are not run (the same rule as
`make test`): the docs show them as code with a badge, and with the outputs they stored when they last ran.

The pages work offline: the math is typeset when the page is built, by KaTeX running in Node.js (so a page shows
no raw TeX and loads no script for math), saved widget state is drawn by the Jupyter widgets HTML manager, and
both are served from the pages' own `_static/` folder (`make install` puts them in tools/node_modules from the
npm registry: tools/package.json). Every page links to the index and to the previous and next notebook.

What a notebook stores (`figures`): pictures (a large one, a photograph, with a 256-colour palette), printed text and tables of the
cells that ran; never stderr (logs,
warnings), errors, widget views (their state is not kept in a saved notebook) or audio/video players (their media
is inlined, hundreds of KB each, and GitHub does not play them; the docs and a live run do).
"""
import argparse, html, json, os, re, shutil, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NBS = ROOT / 'nbs'
NODE_MODULES = ROOT / 'tools' / 'node_modules'
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

# ---------------------------------------------------------------- README
def readme_links(md: str) -> str:
    "Links from the index notebook (in nbs/) to other notebooks, made to work from the repository root: `(01_x.ipynb)` -> `(nbs/01_x.ipynb)`."
    return re.sub(r'\]\((?!\w+://|/|#|nbs/)([^)\s]+\.ipynb(?:#[^)\s]*)?)\)', r'](nbs/\1)', md)

def readme_text(nb_path: Path = NBS / 'index.ipynb') -> str:
    "Markdown of the index notebook: markdown cells as they are (links made to work from the root), visible code cells as ```python blocks."
    nb = json.loads(nb_path.read_text(encoding='utf-8'))
    parts = []
    for c in nb['cells']:
        src = cell_src(c)
        if c['cell_type'] == 'markdown': parts.append(readme_links(src.strip('\n')))
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

# ---------------------------------------------------------------- running a notebook
def book_notebooks(names=()) -> list[Path]:
    "The book in reading order: the index, the chapters by number, then the lab record. `names` picks some (stems or paths)."
    chapters = sorted((p for p in NBS.glob('*.ipynb') if p.stem != 'index' and not p.name.startswith('_')), key=lambda p: p.stem)
    lab = sorted(p for p in (NBS / 'lab').glob('*.ipynb') if not p.name.startswith('_'))
    allp = [NBS / 'index.ipynb', *chapters, *lab]
    if not names: return allp
    want = {Path(n).stem for n in names}
    missing = want - {p.stem for p in allp}
    if missing: sys.exit(f"book: no notebook named {', '.join(sorted(missing))} in nbs/ (or nbs/lab/)")
    return [p for p in allp if p.stem in want]

def in_lab(p: Path) -> bool: "Is this notebook part of the lab record (nbs/lab/), not a chapter?"; return p.parent == NBS / 'lab'

def prepare(nb):
    "Mark the cells, keeping them all in place: export cells and slow/gpu cells are not run; hidden cells run, then leave the page."
    for c in nb.cells:
        if c.cell_type != 'code': continue
        d = directives(c.source)
        tags = set(c.metadata.get('tags', []))
        if 'default_exp' in d or 'nbdev_export()' in c.source: tags.add('skip-execution'); c.metadata['book_hidden'] = True
        if 'hide' in d: c.metadata['book_hidden'] = True
        if d & SKIP_FLAGS: tags |= {'skip-execution', *(d & SKIP_FLAGS)}
        if tags: c.metadata['tags'] = sorted(tags)
    return nb

def kernel_env() -> dict:
    "The kernel's environment: inline figures (no MPLBACKEND), no progress bars."
    env = {k: v for k, v in os.environ.items() if k != 'MPLBACKEND'}
    env['TQDM_DISABLE'] = '1'
    return env

def execute(path: Path, timeout: int = 900):
    "Run one notebook as the book runs it (see the module docstring); return the executed notebook, every cell in place."
    import nbformat
    from nbclient import NotebookClient
    nb = prepare(nbformat.read(path, as_version=4))
    client = NotebookClient(nb, timeout=timeout, kernel_name='python3', resources={'metadata': {'path': str(path.parent)}})
    client.execute(env=kernel_env())   # nbclient hands `env` to the kernel it starts
    return nb

def keep_output(o, widgets: bool = False) -> bool:
    "Outputs a reader should see: pictures, printed text, tables; not stderr or errors, and widget views only if `widgets`."
    if o.output_type == 'stream': return o.name == 'stdout' and o.text.strip() != ''
    if o.output_type == 'error': return False
    data = o.get('data', {})
    return bool(data) and (widgets or 'application/vnd.jupyter.widget-view+json' not in data)

def is_player(o) -> bool:
    "An audio or video player with its media inlined (hundreds of KB; GitHub does not play it)."
    h = o.get('data', {}).get('text/html', '')
    return isinstance(h, str) and bool(re.search(r'<(audio|video)\b', h))

PNG_LIMIT = 150_000   # bytes of base64 above which a picture (a photograph, a dense image) is stored with a palette

def smaller_picture(data: dict) -> dict:
    "A picture's mime bundle with a PNG over `PNG_LIMIT` re-encoded with a 256-colour palette (a third of the size, the same look)."
    png = data.get('image/png')
    if not isinstance(png, str) or len(png) <= PNG_LIMIT: return data
    import base64, io
    from PIL import Image
    buf = io.BytesIO()
    Image.open(io.BytesIO(base64.b64decode(png))).convert('RGB').quantize(256).save(buf, 'PNG', optimize=True)
    small = base64.b64encode(buf.getvalue()).decode()
    return {**data, 'image/png': small} if len(small) < len(png) else data

def stored_outputs(c) -> list:
    """A cell's outputs as `figures` stores them: what a reader should see, less inlined players (a live run and the docs play
    them), with this checkout's absolute paths made relative to the repository."""
    import nbformat
    out = []
    for o in filter(keep_output, c.get('outputs', [])):
        if is_player(o): continue
        o = nbformat.from_dict(json.loads(json.dumps(o).replace(str(ROOT) + '/', '').replace(str(ROOT), '.')))   # a copy; paths as the repository sees them
        if 'data' in o: o['data'] = smaller_picture(o['data'])
        if 'execution_count' in o: o['execution_count'] = None
        out.append(o)
    return out

# ---------------------------------------------------------------- figures
def cmd_figures(args):
    import nbformat
    for p in book_notebooks(args.notebooks):
        if in_lab(p): continue                                     # the lab record's cells are slow: their outputs are history
        t0 = time.time()
        src, ran = nbformat.read(p, as_version=4), execute(p)
        n_img = 0
        for c, r in zip(src.cells, ran.cells):
            if c.cell_type != 'code' or 'skip-execution' in r.metadata.get('tags', []): continue   # slow cells keep what they stored
            c.outputs = [nbformat.from_dict(o) for o in stored_outputs(r)]
            c.execution_count = None
            n_img += sum('image/png' in o.get('data', {}) for o in c.outputs)
        nbformat.write(src, p)
        print(f'{p.name:<32} {time.time() - t0:6.1f} s, {n_img} pictures, {p.stat().st_size / 1e6:.2f} MB', flush=True)
        if p.stat().st_size > 1e6: print(f'  warning: {p.name} is over 1 MB: store fewer or smaller pictures', flush=True)

# ---------------------------------------------------------------- math
KATEX_JS = r"""
const katex = require('katex');
require('readline').createInterface({input: process.stdin}).on('line', line => {
  const {tex, display} = JSON.parse(line);
  let out;
  try { out = {html: katex.renderToString(tex, {displayMode: display, throwOnError: true, strict: 'ignore', output: 'htmlAndMathml'})}; }
  catch (e) { out = {error: String(e.message || e)}; }
  process.stdout.write(JSON.stringify(out) + '\n');
});
"""

class Katex:
    "TeX -> HTML with the local KaTeX, in one Node.js process kept for the whole build. Failures are collected, not fatal."
    def __init__(self):
        node = shutil.which('node')
        if not node: sys.exit('book: Node.js is needed to typeset the math (KaTeX): install nodejs, then `make install`')
        if not (NODE_MODULES / 'katex').exists(): sys.exit('book: tools/node_modules/katex is missing: run `make install`')
        self.proc = subprocess.Popen([node, '-e', KATEX_JS], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     env={**os.environ, 'NODE_PATH': str(NODE_MODULES)})
        self.cache, self.errors = {}, []

    def __call__(self, tex: str, display: bool) -> str:
        key = (tex, display)
        if key not in self.cache:
            self.proc.stdin.write(json.dumps({'tex': tex, 'display': display}) + '\n'); self.proc.stdin.flush()
            r = json.loads(self.proc.stdout.readline())
            if 'error' in r:
                self.errors.append(f'{tex!r}: {r["error"]}')
                r['html'] = f'<code class="math-error" title="{html.escape(r["error"])}">{html.escape(tex)}</code>'
            self.cache[key] = r['html']
        return self.cache[key]

    def close(self): self.proc.stdin.close(); self.proc.wait()

# ---------------------------------------------------------------- pages
CSS = """
body.jp-Notebook main { max-width: 1100px; margin: 0 auto; }
nav.book-nav { display: flex; gap: 1.5em; align-items: baseline; max-width: 1100px; margin: 0 auto; padding: 0.6em 20px;
  font: 14px/1.4 system-ui, sans-serif; border-bottom: 1px solid #ddd; }
nav.book-nav.bottom { border-top: 1px solid #ddd; border-bottom: 0; margin-top: 2em; }
nav.book-nav .next { margin-left: auto; }
.jp-RenderedHTMLCommon a, nav.book-nav a { color: #0b57d0; text-decoration: underline; text-underline-offset: 2px; }
.jp-RenderedHTMLCommon a:visited, nav.book-nav a:visited { color: #6b3fa0; }
.jp-CodeCell.celltag_slow, .jp-CodeCell.celltag_gpu { position: relative; margin-top: 16px; }
.jp-CodeCell.celltag_slow::before, .jp-CodeCell.celltag_gpu::before {
  position: absolute; top: -10px; right: 8px; z-index: 1; padding: 1px 8px; border-radius: 9px;
  font: 600 11px/1.6 system-ui, sans-serif; color: #fff; }
.jp-CodeCell.celltag_slow::before { content: "slow: not run when the docs are built"; background: #b26a00; }
.jp-CodeCell.celltag_gpu::before { content: "gpu: runs on a GPU only, not when the docs are built"; background: #6a1b9a; }
code.math-error { color: #b00020; }
.jp-RenderedMarkdown pre { background: #f5f5f5; padding: 6px 10px; border-radius: 3px; overflow-x: auto; }
.katex-display { overflow-x: auto; overflow-y: hidden; }
/* saved widgets outside JupyterLab: a box of controls beside an output must not be squeezed to nothing */
.widget-hbox > .widget-box { flex-shrink: 0; }
"""

TEMPLATE = r"""{%- extends 'index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{% block jupyter_widgets %}{%- if "widgets" in nb.metadata -%}
<script src="{{ resources.book.static }}widgets/embed.js" defer></script>
{%- endif -%}{% endblock jupyter_widgets %}
{%- block html_head_js_mathjax -%}
<link rel="stylesheet" href="{{ resources.book.static }}katex/katex.min.css">
<style>{{ resources.book.css }}</style>
{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block body_header -%}
{{ super() }}
{{ resources.book.nav_top }}
{%- endblock body_header -%}
{% block body_footer %}
{{ resources.book.nav_bottom }}
{{ super() }}
{% endblock body_footer %}
"""

def page_name(p: Path) -> str: return ('lab/' if in_lab(p) else '') + p.stem + '.html'

def nb_title(p: Path) -> str:
    nb = json.loads(p.read_text(encoding='utf-8'))
    return next((l[2:].strip() for c in nb['cells'] if c['cell_type'] == 'markdown' for l in cell_src(c).splitlines() if l.startswith('# ')), p.stem)

def rel(frm: str, to: str) -> str: return os.path.relpath(to, os.path.dirname(frm) or '.').replace(os.sep, '/')

def nav(name: str, order: list, titles: dict, where: str) -> str:
    "Index, previous and next links of page `name` in reading order."
    i = order.index(name)
    link = lambda n, r, label: f'<a href="{rel(name, n)}" rel="{r}">{label}</a>'
    parts = [link('index.html', 'index', 'omnitalker: contents')]
    if i > 0: parts.append(f'<span class="prev">← {link(order[i - 1], "prev", html.escape(titles[order[i - 1]]))}</span>')
    if i + 1 < len(order): parts.append(f'<span class="next">{link(order[i + 1], "next", html.escape(titles[order[i + 1]]))} →</span>')
    return f'<nav class="book-nav {where}">' + ''.join(parts) + '</nav>'

def fix_links(body: str, page: str, src: Path) -> str:
    "Links between notebooks -> links between pages (`x.ipynb` -> `x.html`), resolved from the notebook's folder."
    def sub(m):
        target, anchor = m.group(1), m.group(2) or ''
        dest = (src.parent / target).resolve()
        if not dest.exists() and target.startswith('nbs/'): dest = (ROOT / target).resolve()   # a README-style link
        try: dest = dest.relative_to(NBS)
        except ValueError: return m.group(0)
        return f'href="{rel(page, dest.with_suffix(".html").as_posix())}{anchor}"'
    return re.sub(r'href="(?!\w+://)([^"#]+\.ipynb)(#[^"]*)?"', sub, body)

def copy_static(out: Path):
    "KaTeX's stylesheet and fonts, and the widgets' HTML manager, into out/_static (the pages load nothing else)."
    if not (NODE_MODULES / 'katex').exists(): sys.exit('book: tools/node_modules is missing: run `make install`')
    st = out / '_static'
    shutil.copytree(NODE_MODULES / 'katex' / 'dist' / 'fonts', st / 'katex' / 'fonts', dirs_exist_ok=True)
    shutil.copy(NODE_MODULES / 'katex' / 'dist' / 'katex.min.css', st / 'katex' / 'katex.min.css')
    hm = NODE_MODULES / '@jupyter-widgets' / 'html-manager' / 'dist'
    (st / 'widgets').mkdir(parents=True, exist_ok=True)
    for f in hm.iterdir():
        if f.suffix in ('.js', '.woff', '.woff2', '.ttf', '.eot', '.svg') and not f.name.startswith('libembed'): shutil.copy(f, st / 'widgets' / f.name)

def exporter(katex):
    "nbconvert's lab HTML with our page template, and math typeset by `katex` instead of left for MathJax."
    import jinja2
    from nbconvert import HTMLExporter
    from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

    class KatexRenderer(IPythonRenderer):
        def block_math(self, body): return katex(body, True)
        def inline_math(self, body): return katex(body, False)
        def latex_environment(self, name, body): return katex(f'\\begin{{{name}}}{body}\\end{{{name}}}', True)

    class BookExporter(HTMLExporter):
        @jinja2.pass_context
        def markdown2html(self, context, source):
            cell = context.get('cell', {})
            r = KatexRenderer(escape=False, attachments=cell.get('attachments', {}), embed_images=self.embed_images,
                              path=context.get('resources', {}).get('metadata', {}).get('path', ''),
                              anchor_link_text=self.anchor_link_text, exclude_anchor_links=self.exclude_anchor_links)
            return MarkdownWithMath(renderer=r).render(source)

    return BookExporter(template_name='lab', template_file='book.html.j2', extra_loaders=[jinja2.DictLoader({'book.html.j2': TEMPLATE})],
                        exclude_input_prompt=True, exclude_output_prompt=True)

def for_page(nb):
    "What the page shows: hidden cells gone, directive lines gone, stderr/errors/empty streams gone."
    nb.cells = [c for c in nb.cells if not c.metadata.get('book_hidden')]
    for c in nb.cells:
        if c.cell_type != 'code': continue
        c.source = strip_directives(c.source)
        c.outputs = [o for o in c.outputs if keep_output(o, widgets=True)]   # saved widget state draws these
    return nb

def cmd_docs(args):
    import nbformat
    out = Path(args.out); out.mkdir(parents=True, exist_ok=True)
    allp = book_notebooks()
    order = [page_name(p) for p in allp]
    titles = {page_name(p): nb_title(p) for p in allp}
    copy_static(out)
    katex = Katex(); ex = exporter(katex)
    for p in book_notebooks(args.notebooks):
        t0, name = time.time(), page_name(p)
        stored = args.stored or in_lab(p)                    # the lab record's cells are slow: shown as stored
        nb = prepare(nbformat.read(p, as_version=4)) if stored else execute(p)
        n_err = len(katex.errors)
        book = {'static': rel(name, '_static') + '/', 'css': CSS,
                'nav_top': nav(name, order, titles, 'top'), 'nav_bottom': nav(name, order, titles, 'bottom')}
        body, _ = ex.from_notebook_node(for_page(nb), resources={'book': book, 'metadata': {'name': titles[name]}})
        body = fix_links(body, name, p)
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_text(body, encoding='utf-8')
        print(f'{p.name:<32} {time.time() - t0:6.1f} s -> {out / name}', flush=True)
        for e in katex.errors[n_err:]: print(f'  KaTeX cannot typeset {e}', flush=True)
    katex.close()
    links = '\n'.join(f'<li><a href="{n}">{html.escape(titles[n])}</a> <code>{n[:-5]}</code></li>' for n in order)
    (out / 'contents.html').write_text(f'<!doctype html><meta charset="utf-8"><title>omnitalker: contents</title>'
        f'<style>{CSS}</style><h1>omnitalker — the notebooks</h1><ol>{links}</ol>', encoding='utf-8')
    print(f'{len(order)} pages in the book; open {out / "index.html"}')

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest='cmd', required=True)
    r = sub.add_parser('readme'); r.add_argument('--check', action='store_true'); r.set_defaults(fn=cmd_readme)
    d = sub.add_parser('docs'); d.add_argument('--out', default=str(ROOT / '_docs'))
    d.add_argument('--stored', action='store_true', help='render the outputs stored in the notebooks instead of running them')
    d.add_argument('notebooks', nargs='*', help='stems or paths (default: all)'); d.set_defaults(fn=cmd_docs)
    f = sub.add_parser('figures'); f.add_argument('notebooks', nargs='*', help='stems or paths (default: all)'); f.set_defaults(fn=cmd_figures)
    a = ap.parse_args(); a.fn(a)
