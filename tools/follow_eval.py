#!/usr/bin/env python
"""The follow test (nb 15) of a generator release on a world, from the command line; prints nb 15's report and a one-line summary.

    python tools/follow_eval.py RELEASE WORLD [--held 4] [--refs 4] [--nfe 16] [--cfg-visual 1] [--cfg-text 2] [--cfg-audio 0] [--threads 2]

RELEASE: a generator release (`data_samples/checkpoints/generator_tiny`) or a run directory (its last checkpoint's EMA
weights, through `release_from_run`). WORLD: a world directory (nb 07), e.g. nb 11's test worlds, made with
`omnitalker.world.world_main`: training speakers `runs/world_tiny` (speakers=10, clips=48; --held 4), new people
`runs/world_new` (speakers=10, clips=12, first=50; --held 4) and `runs/world_new16` (clips=16, first=50; --held 8).
Unset scales take the release's own config.
"""
import argparse, json, tempfile, time
from pathlib import Path

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('release'); ap.add_argument('world')
    ap.add_argument('--held', type=int, default=4); ap.add_argument('--refs', type=int, default=None)
    ap.add_argument('--nfe', type=int, default=None)
    for s in ('text', 'audio', 'visual'): ap.add_argument(f'--cfg-{s}', type=float, default=None)
    ap.add_argument('--threads', type=int, default=2); ap.add_argument('--json', help='append the summary as one JSON line to this file')
    a = ap.parse_args()
    import torch
    torch.set_num_threads(a.threads)
    from omnitalker.model import OmniTalker
    from omnitalker.train import load_release, release_from_run
    from omnitalker.evaluation import FollowSet, follow_report, follow_summary
    rel = Path(a.release)
    if (rel / 'checkpoints').is_dir() or (rel / 'config.json').exists():      # a run or a checkpoint: its EMA weights
        tmp = Path(tempfile.mkdtemp()) / 'release'; release_from_run(rel, tmp); rel = tmp
    model = load_release(OmniTalker, rel)
    kw = {k: v for k, v in dict(nfe=a.nfe, cfg_text=a.cfg_text, cfg_audio=a.cfg_audio, cfg_visual=a.cfg_visual).items() if v is not None}
    t0 = time.time()
    fs = FollowSet.from_world(a.world, held=a.held, refs=a.refs)
    res = follow_report(model, fs, f'{a.release} on {a.world} {kw}', progress=False, **kw)
    s = {'release': a.release, 'world': a.world, 'refs': len(fs.refs), **kw, **follow_summary(res, fs.profile), 'seconds': round(time.time() - t0)}
    print(json.dumps(s))
    if a.json:
        with open(a.json, 'a') as f: f.write(json.dumps(s) + '\n')

if __name__ == '__main__': main()
