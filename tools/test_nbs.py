"""Run every notebook's tests, each in a fresh process, two at a time, each under a time limit.

    python tools/test_nbs.py [--flags slow] [--workers 2] [--timeout 600] [--pytest "tests/ -q"] [NOTEBOOK ...]

This is `nbdev_test` with two differences:

- nbdev_test reuses its worker processes, so global state that one notebook sets (torch's grad mode, thread
  count, a monkey-patch) leaks into the next notebook that lands on the same worker. Here each notebook gets
  its own Python process (nbdev's own `test_nb` runs it, with the `tst_flags` of settings.ini skipped).
- A notebook that hangs is stopped: after `--timeout` seconds its stack is printed and its process group
  (with any subprocess it started) is killed, and it counts as failed. A hang can never stall CI.

`--pytest ARGS` runs `python -m pytest ARGS` as one more job of the same pool (its output is printed when it ends), so
the two workers finish together instead of pytest waiting for the slowest notebook. The longest notebooks (`FIRST`)
start first for the same reason.

Ends with a timing table and the line `notebooks: N passed, N failed` (and pytest's own summary).
"""
import argparse, configparser, os, shlex, signal, subprocess, sys, time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIRST = ('08_curate', '07_world', '15_evaluation')   # the longest notebooks (minutes, not seconds): started first so the pool ends together

def skip_flags() -> list:
    cfg = configparser.ConfigParser(); cfg.read(ROOT / 'settings.ini')
    return cfg['DEFAULT'].get('tst_flags', '').split()

def test_one(path: str, force: list, timeout: float) -> bool:
    "In this process: run one notebook's tests (nbdev's `test_nb`); print the stack and exit if it outlives `timeout` s."
    import faulthandler
    if timeout > 0: faulthandler.dump_traceback_later(timeout, exit=True)   # a watchdog thread: works even if a C call hangs
    os.chdir(Path(path).parent)
    from nbdev.test import test_nb
    ok, _ = test_nb(Path(path), skip_flags=skip_flags(), force_flags=force, basepath=str(ROOT))
    return ok

def run_one(path: str, force: list, timeout: float) -> tuple:
    "Test one notebook in a fresh Python process in its own process group; kill the group if it outlives the limit."
    t0 = time.time()
    cmd = [sys.executable, __file__, '--one', path, '--flags', ' '.join(force), '--timeout', str(timeout)]
    p = subprocess.Popen(cmd, start_new_session=True)
    try: ok = p.wait(timeout=timeout + 30 if timeout > 0 else None) == 0   # the child's own watchdog fires first
    except subprocess.TimeoutExpired: ok = False
    try: os.killpg(p.pid, signal.SIGKILL)                                  # whatever the notebook left running
    except ProcessLookupError: pass
    p.wait()
    secs = time.time() - t0
    if not ok and timeout > 0 and secs >= timeout: print(f"TIMEOUT {Path(path).name}: still running after {timeout:.0f} s; stopped", flush=True)
    return path, ok, secs

def run_pytest(args: str, timeout: float) -> tuple:
    "pytest in its own process group, output kept and printed when it ends; killed with its children if it outlives the limit."
    t0 = time.time()
    p = subprocess.Popen([sys.executable, '-m', 'pytest', *shlex.split(args)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True, start_new_session=True)
    try: out, ok = p.communicate(timeout=timeout if timeout > 0 else None)[0], p.returncode == 0
    except subprocess.TimeoutExpired: out, ok = f'pytest {args}: still running after {timeout:.0f} s; stopped\n', False
    try: os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError: pass
    p.wait()
    print(out, end='', flush=True)
    return f'pytest {args}', ok, time.time() - t0

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('notebooks', nargs='*', help='default: every nbs/*.ipynb')
    ap.add_argument('--flags', default='', help='space-separated flags to run anyway, e.g. "slow"')
    ap.add_argument('--workers', type=int, default=2)
    ap.add_argument('--timeout', type=float, default=600, help='seconds a notebook may run (0: no limit)')
    ap.add_argument('--pytest', default=None, help='also run `python -m pytest PYTEST` as a job of the pool, e.g. "tests/ -q"')
    ap.add_argument('--one', help=argparse.SUPPRESS)   # internal: test this one notebook in this process
    a = ap.parse_args()
    force = a.flags.split()
    if a.one: sys.exit(0 if test_one(a.one, force, a.timeout) else 1)
    paths = [str(Path(p).resolve()) for p in a.notebooks] or sorted(str(p) for p in (ROOT / 'nbs').glob('*.ipynb') if not p.name.startswith('_'))
    paths.sort(key=lambda p: Path(p).stem not in FIRST)                   # stable: the long ones first, the rest in order
    n_first = sum(Path(p).stem in FIRST for p in paths)
    t0, results, py = time.time(), [], None
    with ThreadPoolExecutor(max_workers=a.workers) as ex:
        futs = [ex.submit(run_one, p, force, a.timeout) for p in paths[:n_first]]
        if a.pytest is not None: py = ex.submit(run_pytest, a.pytest, a.timeout); futs.append(py)
        futs += [ex.submit(run_one, p, force, a.timeout) for p in paths[n_first:]]
        for f in as_completed(futs):
            path, ok, secs = f.result()
            if f is not py: results.append((path, ok, secs))
            print(f"{'ok  ' if ok else 'FAIL'} {Path(path).name if f is not py else path:<32} {secs:6.1f} s", flush=True)
    failed = [Path(p).name for p, ok, _ in results if not ok] + ([py.result()[0]] if py is not None and not py.result()[1] else [])
    print(f'\nslowest: ' + ', '.join(f'{Path(p).stem} {s:.0f}s' for p, _, s in sorted(results, key=lambda r: -r[2])[:5]))
    print(f'wall time {time.time() - t0:.0f} s' + (f"; failed: {' '.join(failed)}" if failed else ''))
    n_bad = len(failed) - (py is not None and not py.result()[1])
    print(f'notebooks: {len(results) - n_bad} passed, {n_bad} failed' + (f"; pytest {'passed' if py.result()[1] else 'FAILED'}" if py is not None else ''))
    sys.exit(1 if failed else 0)

if __name__ == '__main__': main()
