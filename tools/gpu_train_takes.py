# nb 11's stage 12: stage 9's settings on a lent GPU (one run per head weight in HEADWS, side by side): take pairs (with
# probability P3 a triple `a <sep> b c`, stage 10's three-clip item: nb 09's `WorldDataset(triples=)`), from the release INIT (default .gpu2/init.safetensors, which `prepare` puts there; stage 12 started from stage 9's),
# batch B, a cosine laid out for STEPS updates, until STOP updates (default STEPS) or BUDGET seconds; ROOM=1 draws recording conditions per item (nb 09 `RoomAugment`), SWAY=1 a head-sway size (nb 09 `SwayAugment`);
# TIME_SAMPLER=logit_normal LOGIT_MEAN=m trains on flow times from a logit-normal (nb 01) instead of stage 9's uniform. Run through tools/gpu_train.sh.
# ARMS='a:LOGIT_MEAN=-0.8;b:LOGIT_MEAN=-0.8,SWAY=1' runs named arms side by side instead, each with its own settings on top of the
# shared ones (head weight HEADW, default 30), to $OUT/<name>/ (without ARMS: one arm hw<weight> per weight in HEADWS).
# The take worlds are made on the device (features only, as nb 11's stage 9 makes them) from the speakers' face rigs
# made here (mediapipe is too big to carry). After every 250 updates the EMA weights are written to $OUT/<arm>/ as a
# release (generator_tiny.safetensors + .json), with the log, so a run stopped by its time limit still returns its latest
# weights. NX=n adds n more people (speakers 1000 on, one take each; nb 11's stage 17). PITCH_BAND=w weighs the mel bins below 1 kHz w times the rest (nb 06; nb 11's stage 18). WORLDS_ONLY=1 makes the worlds and stops. The device returns at most 8 files: three arms fit (the logs go back as one logs.tar). DEV=cpu runs it here (nb 11's stage 13: B=8 NUM_WORKERS=0).
import os, sys, time, shutil, subprocess
from pathlib import Path
from omnitalker.dataset import scan_clips, split_records, WorldDataset, RoomAugment, SwayAugment, collate
from omnitalker.model import OmniTalker
from omnitalker.config import OmniTalkerConfig, TrainConfig
from omnitalker.train import Trainer, release_from_run
from omnitalker.cli import main as cli
STEPS, B, P3, BUDGET = int(os.environ.get('STEPS', 2000)), int(os.environ.get('B', 32)), float(os.environ.get('P3', 0.5)), float(os.environ.get('BUDGET', 240))
STOP = int(os.environ.get('STOP', STEPS))
NX = int(os.environ.get('NX', 0))   # more people: NX speakers from number 1000 on (none of the follow tests' people), one take of 12 clips each
INIT = Path(os.environ.get('INIT', '.gpu2/init.safetensors'))                  # the release to start from
INIT_CONFIG = Path(os.environ.get('INIT_CONFIG', '.gpu2/config.json'))       # {"model": the start's config} (its architecture; `prepare` writes it)

def make_worlds(W, T0):
    "The take worlds (features only), from the speakers' face rigs made here (mediapipe is too big to carry)."
    WORKERS = os.environ.get('WORKERS', '16')
    if Path('.gpu2/w').exists() and not W.exists(): shutil.copytree('.gpu2/w', W)
    if not (W / 'wide' / 'clips').exists():
        print('making the take worlds', flush=True)
        cli(['world', '--out', str(W / 'wide'), '--speakers', os.environ.get('NW', '50'), '--clips', '48', '--seed', '0', '--workers', WORKERS, '--features-only', '--take', '12'])
        cli(['world', '--out', str(W / 'more'), '--speakers', os.environ.get('NM', '400'), '--clips', '12', '--seed', '0', '--workers', WORKERS, '--features-only', '--take', '12', '--first', '60'])
    if NX and not (W / f'extra{NX}' / 'clips').exists():
        print(f'making {NX} more people', flush=True)
        cli(['world', '--out', str(W / f'extra{NX}'), '--speakers', str(NX), '--clips', '12', '--seed', '0', '--workers', WORKERS, '--features-only', '--take', '12', '--first', '1000'])
    print(f'worlds ready after {time.time() - T0:.0f} s', flush=True)


def train(W, OUT, T0, name, head_weight):
    "One run (arm `name`) of stage 9's settings (and stage 10's triples) with `loss_weight_head = head_weight`, from the release; the latest EMA goes to OUT."
    DEV = os.environ.get('DEV', 'cuda')
    tiny = OmniTalkerConfig.tiny()
    cfg = tiny.replace(flow=tiny.flow.replace(mask_min=0.4, mask_max=0.6, span_at_end=1.0, span_at_boundary=1.0, loss_weight_head=head_weight,
                                       loss_weight_pitch_band=float(os.environ.get('PITCH_BAND', 1)),   # nb 11's stage 18 (not shipped): 4
                                       time_sampler=os.environ.get('TIME_SAMPLER', 'uniform'), logit_mean=float(os.environ.get('LOGIT_MEAN', 0))))   # stage 9: uniform
    recs = split_records(scan_clips(W / 'wide'), held_per_speaker=4, seed=0)[0] + scan_clips(W / 'more')
    if NX: recs += scan_clips(W / f'extra{NX}')
    room = RoomAugment() if os.environ.get('ROOM') else None   # nb 09: recording conditions drawn per item (ROOM=1)
    sway = SwayAugment() if os.environ.get('SWAY') else None   # nb 09: a head-sway size drawn per item (SWAY=1)
    ds = WorldDataset(recs, cfg, pairs=True, repeats=4, seed=0, triples=P3, room=room, sway=sway)   # nb 09: a take pair, or with probability P3 three clips
    print(name, ':', len(recs), 'training clips', len({r.speaker for r in recs}), 'speakers; head weight', head_weight, '; time sampler', cfg.flow.time_sampler, cfg.flow.logit_mean, '; rooms', room, '; sways', sway, flush=True)
    init = Path(os.environ.get('RUN', '/tmp/run')) / f'init_{name}'; init.mkdir(parents=True, exist_ok=True)
    # start from a release (its EMA weights): model = release, EMA = its parameters
    from safetensors.torch import load_file, save_file
    rel = load_file(str(INIT))
    save_file(rel, str(init / 'model.safetensors'))
    save_file({k: v for k, v in rel.items() if k not in ('motion_mean', 'motion_std')}, str(init / 'ema.safetensors'))
    shutil.copy(INIT_CONFIG, init / 'config.json')   # stage 9's checkpoint config (the model section is checked)
    (init / 'trainer.json').write_text('{}')
    tcfg = TrainConfig.tiny().replace(max_steps=3500, warmup_steps=50, batch_size=B, ema_decay=0.995, log_every=10, ckpt_every=250)
    t10 = tcfg.finetune(lr_scale=float(os.environ.get('LR_SCALE', 0.5)), steps=STEPS)
    run = Path(os.environ.get('RUN', '/tmp/run')) / name; shutil.rmtree(run, ignore_errors=True)
    tr = Trainer(OmniTalker(cfg), ds, t10, collate, run, device=DEV, num_workers=int(os.environ.get('NUM_WORKERS', 4)), progress=False).init_from(init)
    t1, chunk = time.time(), 0.0
    while tr.step < min(STOP, STEPS) and time.time() - T0 + chunk < BUDGET:   # no chunk is begun that would end past the budget
        tc = time.time()
        tr.fit(steps=min(250, min(STOP, STEPS) - tr.step))             # checkpoints every 250 (ckpt_every) and at the stop
        chunk = time.time() - tc
        ck = run / 'checkpoints' / (run / 'checkpoints' / 'latest').read_text().strip()
        # the latest EMA weights as a release, sampled as the shipped one is (no audio guidance; the mel ceiling, nb 01)
        release_from_run(ck, OUT / 'generator_tiny', overrides={'flow.cfg_audio': float(os.environ.get('CFG_AUDIO', 0)), 'flow.mel_ceiling': float(os.environ.get('MEL_CEILING', 5.2))})
        shutil.copy(run / 'log.csv', OUT / 'log.csv')
        print(f'{ck.name}: {time.time() - t1:.0f} s training, {time.time() - T0:.0f} s in all', flush=True)


def arms() -> dict:
    "{name: settings} of the runs: ARMS='name:K=V,K=V;name2:...' (head weight HEADW, default 30), else one arm hw<h> per head weight in HEADWS."
    if 'ARMS' not in os.environ: return {f'hw{h}': {'HEAD_WEIGHT': h} for h in os.environ.get('HEADWS', '10').split(',')}
    out = {}
    for arm in filter(str.strip, os.environ['ARMS'].split(';')):
        name, _, kvs = arm.partition(':')
        out[name.strip()] = {'HEAD_WEIGHT': os.environ.get('HEADW', '30'), **dict(kv.split('=', 1) for kv in kvs.split(',') if kv)}
    return out


def main():
    "Make the worlds once, then train one run per arm side by side: the tiny model leaves the GPU mostly idle."
    T0 = time.time()
    W, OUT = Path(os.environ.get('W', '/tmp/w')), Path(os.environ.get('OUT', '/tmp/out'))
    if 'ARM' in os.environ:                                  # a child: one run
        return train(W, OUT, float(os.environ['T0']), os.environ['ARM'], float(os.environ['HEAD_WEIGHT']))
    make_worlds(W, T0)
    if os.environ.get('WORLDS_ONLY'): return                # gpu_train.sh prepare: the worlds (their rigs), no training
    procs, logs = [], Path(os.environ.get('RUN', '/tmp/run')); logs.mkdir(parents=True, exist_ok=True)   # runs' logs stay off $OUT (8 files come back)
    runs = arms()
    for name, settings in runs.items():
        o = OUT / name; o.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **settings, 'ARM': name, 'OUT': str(o), 'T0': str(T0)}
        procs.append(subprocess.Popen([sys.executable, __file__], env=env, stdout=open(logs / f'{name}.log', 'w'), stderr=subprocess.STDOUT))
    rcs = [p.wait() for p in procs]
    for name in runs: print(f'--- {name}', (logs / f'{name}.log').read_text()[-1500:], sep='\n')
    sys.exit(max(rcs))

if __name__ == '__main__': main()
