"""Acceptance check of the user-study page (nb 15a, `omnitalker.study`) in a real browser: rate three clips, leave, come back.

    python tools/study_browser_check.py [--db STUDY.sqlite] [--rater ID] [--shot PNG] [--keep]

What it does:

1. makes the demo study (`omnitalker.study.demo_study`: 12 shipped clips standing in for 4 systems) in a temporary
   folder, unless `--db` names a study file (the rater must not have answered anything in it yet);
2. starts JupyterLab (the project's `.venv`, or `--python`) on a free localhost port with a random token, serving a
   temporary folder that holds one small notebook: `study_ui(DB)`;
3. in headless Chromium (Playwright) opens that notebook, runs it, types the rater id, presses Start, and for three
   clips clicks an answer (1-5) to each of the six questions (on the first clip one answer is changed once), then Next;
4. closes the page and shuts the kernel down (nothing of the first visit is left in memory), opens the notebook again,
   runs it, and starts as the same rater;
5. checks that (a) the SQLite file holds exactly that rater's 18 answers: the three clips shown, the scores last
   clicked, no duplicates; (b) the page shows "clip 4 of N" with the fourth clip of the rater's order in its hidden
   id; (c) both videos (reference and clip) load and play in the browser;
6. saves a screenshot of the page as the rater found it on return (`--shot`; with `-rated` before the suffix, the
   third clip with its answers clicked), prints a short report and exits 0; on any failure it prints one line
   `study browser check FAILED: ...` and exits 1 (with `-failed` before the suffix: the page as it was then).

It needs, beside the project's virtual environment (`make install`): the Playwright Python package in the Python
that runs this script (`pip install playwright`), and a Chromium from the system (Debian: `apt-get install chromium`),
found as $CHROMIUM or `chromium` / `chromium-browser` on the PATH. It never downloads a browser, and touches nothing
outside its temporary folder and the `--db` file it is given (into which it writes the check's ratings).
"""
import argparse, json, os, re, secrets, shutil, signal, socket, sqlite3, subprocess, sys, tempfile, time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update',
                  '--disable-default-apps', '--disable-sync', '--no-first-run', '--mute-audio']   # offline and quiet: nothing is fetched

class CheckFailed(Exception): "One line saying what the page or the file got wrong."

def find_chromium(given=None) -> str:
    if given and not Path(given).exists(): raise CheckFailed(f"--chromium {given}: no such file")
    for c in (given, os.environ.get('CHROMIUM'), shutil.which('chromium'), shutil.which('chromium-browser')):
        if c and Path(c).exists(): return c
    raise CheckFailed("no Chromium found: install the system's (Debian: apt-get install chromium) or set CHROMIUM=/path/to/chromium")

def project_python(given=None) -> str:
    py = given or os.environ.get('OMNITALKER_PYTHON') or str(ROOT / '.venv' / 'bin' / 'python')
    if not Path(py).exists(): raise CheckFailed(f"no project Python at {py}: run `make install`, or pass --python")
    return py

def run_py(py: str, code: str, *args) -> str:
    "Run `code` in the project's Python (which has omnitalker); its stdout, or a one-line failure."
    r = subprocess.run([py, '-c', code, *map(str, args)], capture_output=True, text=True, cwd=ROOT)
    if r.returncode: raise CheckFailed(f"project Python failed: {(r.stderr.strip().splitlines() or ['?'])[-1]}")
    return r.stdout

STUDY_INFO = """import json, sys
from omnitalker.study import Study
s = Study.open(sys.argv[1]); print(json.dumps(dict(order=s.order(sys.argv[2]), questions=[q.key for q in s.questions], name=s.name)))"""

def notebook(db: Path) -> dict:
    "A one-cell notebook that shows the study page for `db`."
    src = f"from omnitalker.study import study_ui\nstudy_ui(r'{db}')"
    return {'cells': [{'cell_type': 'code', 'execution_count': None, 'id': 'study', 'metadata': {}, 'outputs': [], 'source': src}],
            'metadata': {'kernelspec': {'display_name': 'Python 3 (ipykernel)', 'language': 'python', 'name': 'python3'}, 'language_info': {'name': 'python'}},
            'nbformat': 4, 'nbformat_minor': 5}

def free_port() -> int:
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def api(base: str, token: str, path: str, method: str = 'GET'):
    req = urllib.request.Request(f'{base}{path}', method=method, headers={'Authorization': f'token {token}'})
    with urllib.request.urlopen(req, timeout=10) as r: body = r.read()
    return json.loads(body) if body else None

def start_lab(py: str, folder: Path, port: int, token: str) -> subprocess.Popen:
    "JupyterLab on 127.0.0.1:`port` serving `folder`, its workspace and runtime files kept in `folder` too."
    cmd = [py, '-m', 'jupyterlab', '--no-browser', '--ServerApp.ip=127.0.0.1', f'--ServerApp.port={port}', '--ServerApp.port_retries=0',
           f'--IdentityProvider.token={token}', f'--ServerApp.root_dir={folder / "nb"}', f'--LabApp.workspaces_dir={folder / "workspaces"}',
           '--LabApp.extension_manager=readonly', *(['--allow-root'] if os.geteuid() == 0 else [])]
    env = {k: v for k, v in os.environ.items() if k != 'MPLBACKEND'} | {'JUPYTER_RUNTIME_DIR': str(folder / 'runtime')}
    return subprocess.Popen(cmd, cwd=folder, env=env, stdout=open(folder / 'lab.log', 'w'), stderr=subprocess.STDOUT, start_new_session=True)

def wait_server(base: str, token: str, srv: subprocess.Popen, folder: Path, timeout: float = 120):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if srv.poll() is not None: raise CheckFailed(f"JupyterLab exited ({srv.returncode}); its log: {folder / 'lab.log'}")
        try: api(base, token, '/api/status'); return
        except OSError: time.sleep(0.5)
    raise CheckFailed(f"JupyterLab did not answer within {timeout:.0f} s")

IDLE = """() => { const p = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)'); if (!p) return false;
    const busy = [...p.querySelectorAll('.jp-InputPrompt')].some(x => x.textContent.includes('*'));
    const k = p.querySelector('.jp-Notebook-ExecutionIndicator'); return !busy && (!k || k.getAttribute('data-status') === 'idle'); }"""

def open_study(browser, url: str, log: list):
    "A new page with the notebook open and run: the study page shown, rater id empty."
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    pg = browser.new_page(viewport={'width': 1200, 'height': 1100})
    pg.on('pageerror', lambda e: log.append(f'page error: {e}'))
    pg.on('console', lambda m: m.type == 'error' and log.append(f'console error: {m.text[:120]}'))
    pg.goto(url, timeout=180_000)
    pg.wait_for_selector('.jp-Notebook .jp-Cell', state='attached', timeout=180_000)
    pg.wait_for_function(IDLE, timeout=180_000)
    select = pg.locator('.jp-Dialog button:has-text("Select")')    # "Select Kernel", when JupyterLab asks: the notebook's python3
    try: select.first.wait_for(timeout=3000); select.first.click(); pg.wait_for_function(IDLE, timeout=120_000)
    except PlaywrightTimeout: pass
    news = pg.locator('.jp-toast-button:has-text("No")')            # "receive Jupyter news?" covers the page
    if news.count(): news.first.click()
    pg.click('.lm-MenuBar-itemLabel:text-is("Run")'); pg.click('.lm-Menu-itemLabel:text-is("Run All Cells")')
    pg.wait_for_selector('.study-ui .study-rater input', timeout=120_000)
    return pg

def start_rater(pg, rater: str):
    pg.fill('.study-ui .study-rater input', rater); pg.keyboard.press('Tab')
    pg.click('.study-ui .study-start')
    pg.wait_for_function("() => /^clip \\d+ of \\d+$|^all \\d+ clips rated$/"
                         ".test((document.querySelector('.study-ui .study-progress') || {}).innerText || '')", timeout=60_000)

def shown(pg) -> tuple:   # (progress text, hidden clip id)
    return (pg.inner_text('.study-ui .study-progress').strip(), pg.get_attribute('.study-ui .study-clip [data-clip]', 'data-clip'))

def answer(pg, key: str, score: int):
    "Click `score` of question `key`, and wait until the page shows it chosen."
    pg.locator(f'.study-ui .study-q-{key} button', has_text=re.compile(rf'^\s*{score}\s*$')).click()
    chosen = f"[...document.querySelectorAll('.study-ui .study-q-{key} button.mod-active')].some(b => b.innerText.trim() === '{score}')"
    pg.wait_for_function(f"() => {chosen}", timeout=30_000)

VIDEOS = """async () => {
    const out = [];
    for (const cls of ['study-reference-video', 'study-clip-video']) {
        const v = document.querySelector('.study-ui video.' + cls);
        if (!v) { out.push({cls, found: false}); continue; }
        for (let i = 0; i < 100 && v.readyState < 2; i++) await new Promise(r => setTimeout(r, 100));
        v.muted = true; let played = false;
        try { await v.play(); const t = v.currentTime; await new Promise(r => setTimeout(r, 600)); played = v.currentTime > t; v.pause(); } catch (e) {}
        out.push({cls, found: true, readyState: v.readyState, duration: v.duration, played, error: v.error ? v.error.code : null});
    }
    return out; }"""

def visits(browser, url, log, rater, order, keys, n, clicked, shot, rated_shot, base, token) -> tuple:   # (progress, clip id, videos) on return
    "Visit 1: rate three clips and leave (page closed, kernel shut down); visit 2: come back as the same rater."
    pg = open_study(browser, url, log); start_rater(pg, rater)
    for k in range(3):
        progress, clip = shown(pg)
        if (progress, clip) != (f'clip {k + 1} of {n}', order[k]):
            raise CheckFailed(f"visit 1, clip {k + 1}: the page shows {progress!r} with clip {clip}, expected {order[k]} (the rater's order)")
        for j, key in enumerate(keys):
            score = (k + j) % 5 + 1
            if k == 0 and j == 0: answer(pg, key, score % 5 + 1)       # a first answer, then changed: must update, not add
            answer(pg, key, score); clicked[clip, key] = score
        if k == 2: pg.locator('.study-ui').screenshot(path=str(rated_shot))
        pg.click('.study-ui .study-next')
        pg.wait_for_function(f"() => (document.querySelector('.study-ui .study-progress') || {{}}).innerText === 'clip {k + 2} of {n}'", timeout=60_000)
    pg.close(run_before_unload=False)
    for s in api(base, token, '/api/sessions'): api(base, token, f"/api/sessions/{s['id']}", 'DELETE')   # shuts its kernel down
    if api(base, token, '/api/kernels'): raise CheckFailed("a kernel is still running after the page was closed and its session deleted")
    pg = open_study(browser, url, log); start_rater(pg, rater)
    progress, clip = shown(pg)
    videos = pg.evaluate(VIDEOS)
    pg.locator('.study-ui').screenshot(path=str(shot))
    return progress, clip, videos

def check(args) -> list:
    "Run the check; the report's lines."
    from playwright.sync_api import sync_playwright
    chromium, py = find_chromium(args.chromium), project_python(args.python)
    folder = Path(tempfile.mkdtemp(prefix='study_check_')); (folder / 'nb').mkdir()
    srv, lines, log = None, [], []
    try:
        db = Path(args.db).resolve() if args.db else folder / 'study.sqlite'
        if not args.db: run_py(py, 'import sys; from omnitalker.study import demo_study; demo_study(sys.argv[1])', db)
        info = json.loads(run_py(py, STUDY_INFO, db, args.rater))
        order, keys, n = info['order'], info['questions'], len(info['order'])
        if n < 4: raise CheckFailed(f"{db} has {n} clips: the check rates three and expects a fourth")
        with sqlite3.connect(f'{db.as_uri()}?mode=ro', uri=True) as con:
            if con.execute('SELECT COUNT(*) FROM ratings WHERE rater = ?', (args.rater,)).fetchone()[0]:
                raise CheckFailed(f"rater {args.rater!r} already has answers in {db}: pass another --rater")
        (folder / 'nb' / 'study_check.ipynb').write_text(json.dumps(notebook(db)))
        port, token = free_port(), secrets.token_hex(16)
        base = f'http://127.0.0.1:{port}'
        srv = start_lab(py, folder, port, token); wait_server(base, token, srv, folder)
        url = f'{base}/lab/tree/study_check.ipynb?token={token}'
        lines.append(f"JupyterLab on 127.0.0.1:{port} (token), kernel from {py}; Chromium {chromium} (headless, Playwright)")
        lines.append(f"study {db} ({info['name']!r}): {n} clips, {len(keys)} questions; rater {args.rater!r}")
        clicked, shot = {}, Path(args.shot).resolve()
        rated_shot = shot.with_name(shot.stem + '-rated' + shot.suffix)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_FLAGS)
            try: progress, clip, videos = visits(browser, url, log, args.rater, order, keys, n, clicked, shot, rated_shot, base, token)
            except Exception:
                for pg in [pg for ctx in browser.contexts for pg in ctx.pages]:          # what the page showed when it failed
                    pg.screenshot(path=str(shot.with_name(shot.stem + '-failed' + shot.suffix)))
                raise
            browser.close()
        lines.append(f"visit 1: rated clips {', '.join(order[:3])} (6 clicks each, one answer changed once, Next); page closed, kernel shut down")
        with sqlite3.connect(f'{db.as_uri()}?mode=ro', uri=True) as con:
            rows = con.execute('SELECT clip, question, score FROM ratings WHERE rater = ?', (args.rater,)).fetchall()
        stored = {(c, q): s for c, q, s in rows}
        if len(rows) != len(stored) or stored != clicked:
            raise CheckFailed(f"the file holds {len(rows)} answers of {args.rater!r} for clips {sorted({c for c, _ in stored})}; "
                              f"expected the {len(clicked)} clicked for {order[:3]}")
        lines.append(f"file: {len(rows)} answers of {args.rater!r} = 3 clips x {len(keys)} questions, the scores last clicked, no duplicates")
        if (progress, clip) != (f'clip 4 of {n}', order[3]):
            raise CheckFailed(f"visit 2: the page shows {progress!r} with clip {clip}; expected 'clip 4 of {n}' with {order[3]}")
        lines.append(f"visit 2: the page resumed at {progress!r}, hidden id {clip} = the 4th clip of the rater's order")
        bad = [v['cls'] for v in videos if not (v.get('found') and v.get('readyState', 0) >= 2 and v.get('played'))]
        if bad: raise CheckFailed(f"videos that did not load and play: {bad} ({videos})")
        lines.append('videos: ' + ', '.join(f"{v['cls'].split('-')[1]} {v['duration']:.2f} s, played" for v in videos))
        lines.append(f"browser errors: {len(log)}" + (f", e.g. {log[0]}" if log else ''))
        lines.append(f"screenshots: {shot} ({shot.stat().st_size / 1e3:.0f} KB), {rated_shot} ({rated_shot.stat().st_size / 1e3:.0f} KB)")
        return lines
    finally:
        if srv is not None:
            try: os.killpg(srv.pid, signal.SIGTERM); srv.wait(timeout=30)
            except (ProcessLookupError, subprocess.TimeoutExpired): os.killpg(srv.pid, signal.SIGKILL)
        if args.keep: args.kept = folder
        else: shutil.rmtree(folder, ignore_errors=True)

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--db', help='a study file (default: the demo study, made in a temporary folder)')
    ap.add_argument('--rater', default='browser-check', help='the rater id typed into the page')
    ap.add_argument('--shot', default='study_check.png', help='screenshot of the page on return')
    ap.add_argument('--python', help="the project's Python, with omnitalker and JupyterLab (default: .venv/bin/python)")
    ap.add_argument('--chromium', help='Chromium executable (default: $CHROMIUM, or chromium on the PATH)')
    ap.add_argument('--keep', action='store_true', help='keep the temporary folder (server log, notebook, demo study)')
    args = ap.parse_args()
    t0 = time.time()
    try:
        try: import playwright  # noqa: F401
        except ImportError: raise CheckFailed("the Playwright package is missing: pip install playwright (the system's Chromium is used; no browser is downloaded)")
        lines = check(args)
    except Exception as e:   # a failed expectation, a timeout, a browser that would not start: one line
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        print(f"study browser check FAILED: {msg if isinstance(e, CheckFailed) else f'{type(e).__name__}: {msg}'}", file=sys.stderr)
        sys.exit(1)
    print(f"study browser check: OK in {time.time() - t0:.0f} s")
    for l in lines: print('  ' + l)
    if args.keep: print(f"  kept {args.kept} (server log, notebook, study)")

if __name__ == '__main__':
    main()
