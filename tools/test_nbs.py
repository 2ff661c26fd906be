"""Run every notebook's tests, each in a fresh process, two at a time.

    python tools/test_nbs.py [--flags slow] [--workers 2] [NOTEBOOK ...]

This is `nbdev_test` with one difference: nbdev_test reuses its worker processes, so global state that one
notebook sets (torch's grad mode, thread count, a monkey-patch) leaks into the next notebook that lands on
the same worker. Here each notebook gets its own process (nbdev's own `test_nb` runs it, with the
`tst_flags` of settings.ini skipped). Ends with a timing table and the line `notebooks: N passed, N failed`.
"""
import argparse, configparser, sys, time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

def run_one(path: str, skip: list, force: list):
    import os; os.chdir(Path(path).parent)
    from nbdev.test import test_nb
    ok, secs = test_nb(Path(path), skip_flags=skip, force_flags=force, basepath=str(ROOT))
    return path, ok, secs

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('notebooks', nargs='*', help='default: every nbs/*.ipynb')
    ap.add_argument('--flags', default='', help='space-separated flags to run anyway, e.g. "slow"')
    ap.add_argument('--workers', type=int, default=2)
    a = ap.parse_args()
    cfg = configparser.ConfigParser(); cfg.read(ROOT / 'settings.ini')
    skip, force = cfg['DEFAULT'].get('tst_flags', '').split(), a.flags.split()
    paths = [str(Path(p).resolve()) for p in a.notebooks] or sorted(str(p) for p in (ROOT / 'nbs').glob('*.ipynb') if not p.name.startswith('_'))
    t0, results = time.time(), []
    with ProcessPoolExecutor(max_workers=a.workers, max_tasks_per_child=1) as ex:
        futs = [ex.submit(run_one, p, skip, force) for p in paths]
        for f in as_completed(futs):
            path, ok, secs = f.result(); results.append((path, ok, secs))
            print(f"{'ok  ' if ok else 'FAIL'} {Path(path).name:<32} {secs:6.1f} s", flush=True)
    failed = [Path(p).name for p, ok, _ in results if not ok]
    print(f'\nslowest: ' + ', '.join(f'{Path(p).stem} {s:.0f}s' for p, _, s in sorted(results, key=lambda r: -r[2])[:5]))
    print(f'wall time {time.time() - t0:.0f} s' + (f"; failed: {' '.join(failed)}" if failed else ''))
    print(f'notebooks: {len(results) - len(failed)} passed, {len(failed)} failed')
    sys.exit(1 if failed else 0)

if __name__ == '__main__': main()
