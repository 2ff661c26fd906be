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

def run_job(name: str, cmd: list, timeout: float, grace: float = 0, capture: bool = False) -> tuple:
    "Run `cmd` in its own process group; kill the group (with whatever it started) when it ends or outlives `timeout` + `grace` s. (name, ok, seconds)"
    t0 = time.time()
    pipe = dict(stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) if capture else {}
    p = subprocess.Popen(cmd, cwd=ROOT, start_new_session=True, **pipe)
    try: out, ok = p.communicate(timeout=timeout + grace if timeout > 0 else None)[0], p.returncode == 0
    except subprocess.TimeoutExpired: out, ok = None, False
    try: os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError: pass
    p.wait()
    secs = time.time() - t0
    if out: print(out, end='', flush=True)                                  # captured output, printed in one piece
    if not ok and timeout > 0 and secs >= timeout: print(f"TIMEOUT {name}: still running after {timeout:.0f} s; stopped", flush=True)
    return name, ok, secs

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('notebooks', nargs='*', help='default: every nbs/*.ipynb')
    ap.add_argument('--flags', default='', help='space-separated flags to run anyway, e.g. "slow"')
    ap.add_argument('--workers', type=int, default=2)
    ap.add_argument('--timeout', type=float, default=600, help='seconds a notebook (or pytest) may run (0: no limit)')
    ap.add_argument('--pytest', default=None, help='also run `python -m pytest PYTEST` as a job of the pool, e.g. "tests/ -q"')
    ap.add_argument('--one', help=argparse.SUPPRESS)   # internal: test this one notebook in this process
    a = ap.parse_args()
    force = a.flags.split()
    if a.one: sys.exit(0 if test_one(a.one, force, a.timeout) else 1)
    paths = [str(Path(p).resolve()) for p in a.notebooks] or sorted(str(p) for p in (ROOT / 'nbs').glob('*.ipynb') if not p.name.startswith('_'))
    paths.sort(key=lambda p: Path(p).stem not in FIRST)                   # stable: the long ones first, the rest in order
    # each notebook in a fresh process, whose own watchdog fires before ours (30 s of grace)
    jobs = [(Path(p).name, [sys.executable, __file__, '--one', p, '--flags', ' '.join(force), '--timeout', str(a.timeout)], 30, False) for p in paths]
    py = f'pytest {a.pytest}' if a.pytest is not None else None
    if py: jobs.insert(sum(Path(p).stem in FIRST for p in paths), (py, [sys.executable, '-m', 'pytest', *shlex.split(a.pytest)], 0, True))
    t0, results = time.time(), []
    with ThreadPoolExecutor(max_workers=a.workers) as ex:
        for f in as_completed([ex.submit(run_job, name, cmd, a.timeout, grace, capture) for name, cmd, grace, capture in jobs]):
            name, ok, secs = f.result(); results.append((name, ok, secs))
            print(f"{'ok  ' if ok else 'FAIL'} {name:<32} {secs:6.1f} s", flush=True)
    nbs = [r for r in results if r[0] != py]
    failed = [name for name, ok, _ in results if not ok]
    print(f'\nslowest: ' + ', '.join(f'{Path(n).stem} {s:.0f}s' for n, _, s in sorted(nbs, key=lambda r: -r[2])[:5]))
    print(f'wall time {time.time() - t0:.0f} s' + (f"; failed: {' '.join(failed)}" if failed else ''))
    n_bad = sum(not ok for _, ok, _ in nbs)
    print(f'notebooks: {len(nbs) - n_bad} passed, {n_bad} failed' + (f"; pytest {'FAILED' if py in failed else 'passed'}" if py else ''))
    sys.exit(1 if failed else 0)

if __name__ == '__main__': main()
