"""The curation pipeline (nb 08) as a user runs it: `omnitalker curate IN OUT` killed and resumed, the same run on a local Ray
cluster, bad inputs, and a curated folder feeding nb 09's dataset and nb 11's training."""
import json, os, signal, subprocess, sys, time
from pathlib import Path
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
CLI = [str(Path(sys.executable).parent / 'omnitalker')]
ENV = {**os.environ, 'OMP_NUM_THREADS': '1', 'MPLBACKEND': 'Agg'}

def _clip(name):
    "Frames and 24 kHz audio of a shipped sample video, the audio cut to the frames."
    import mediapy
    from omnitalker.audio import read_audio
    from omnitalker.config import ffmpeg_exe
    mediapy.set_ffmpeg(ffmpeg_exe())
    v = np.asarray(mediapy.read_video(str(ROOT / 'data_samples' / name)))
    a = read_audio(ROOT / 'data_samples' / name, 24_000)
    return v, np.pad(a, (0, max(0, len(v) * 960 - len(a))))[:len(v) * 960]

@pytest.fixture(scope='module')
def raw(tmp_path_factory) -> Path:
    "Four small inputs: shots joined by hard cuts (a still, silent face at the end), two faces of which one speaks, a real recording, a text file named .mp4."
    from omnitalker.world import write_mp4
    d = tmp_path_factory.mktemp('raw')
    (a, wa), (b, wb), (c, wc), (r, wr) = [_clip(f'world/sample_{x}.mp4') for x in 'abc'] + [_clip('reference_arctic_a0007.mp4')]
    still = np.repeat(c[:1], 40, 0)
    write_mp4(d / 'cuts.mp4', np.concatenate([a, b, still]), np.concatenate([wa, wb, np.zeros(40 * 960, np.float32)]))
    (d / 'cuts.srt').write_text("1\n00:00:00,000 --> 00:00:01,700\nTwo blue fish swam in the tank.\n\n"
                                "2\n00:00:01,760 --> 00:00:04,200\nThe boy was there when the sun rose.\n")
    write_mp4(d / 'two_faces.mp4', np.concatenate([c, np.repeat(a[:1], len(c), 0)], 2), wc)
    write_mp4(d / 'real.mp4', r, wr)
    (d / 'notes.mp4').write_text('not a video')
    return d

CFG = ['--set', 'dnsmos_min=1.5', '--set', 'min_face_area=0.08']   # espeak's voice scores ~2 (nb 08); two faces share the frame

@pytest.fixture(scope='module')
def curated(raw, tmp_path_factory) -> Path:
    "One uninterrupted local run over `raw`: the reference the other runs are compared with."
    out = tmp_path_factory.mktemp('curated')
    p = subprocess.run(CLI + ['curate', str(raw), str(out), '--quiet'] + CFG, capture_output=True, text=True, env=ENV, cwd=ROOT)
    assert p.returncode == 1, p.stdout + p.stderr      # exit status = unreadable inputs: notes.mp4
    assert 'notes.mp4' in p.stdout and 'unreadable' in p.stdout
    return out

def _manifest(out):
    from omnitalker.curate import read_manifest
    return read_manifest(out)

def test_curated_run(curated):
    from omnitalker.curate import report
    m = _manifest(curated)
    files = m[m.kind == 'file'].set_index('file')
    assert files.loc['notes.mp4', 'status'] == 'error' and 'not a media file' in files.loc['notes.mp4', 'reason']
    assert (files.drop('notes.mp4').status == 'ok').all()
    kept = m[m.status == 'kept']
    assert len(kept) >= 3, m[['file', 'status', 'reason', 'start', 'end', 'sync']]
    assert set(files.loc['cuts.mp4', 'cuts'].split()) == {'1.76', '4.24'}            # the two hard cuts, to the frame
    cuts_kept = kept[kept.file == 'cuts.mp4']
    assert list(cuts_kept.text) == ['Two blue fish swam in the tank.', 'The boy was there when the sun rose.']   # the sidecar's words
    two = m[(m.file == 'two_faces.mp4') & (m.kind == 'segment')]
    assert set(two.track) == {0, 1} and (two.status == 'kept').sum() == 1
    assert two[two.status == 'kept'].box_x1.iloc[0] < 0.55                             # the speaker is the left face
    assert 'another face speaks' in set(two.reason) or 'not speaking' in set(two.reason)
    assert 'no speech' in set(m.reason)                                               # the still, silent face after the second cut
    assert 'kept' in report(curated)

def _clips_match_manifest(out, m):
    "Every kept row has its four files, every sidecar a kept row; no temporary file anywhere."
    sidecars = {p.stem for p in (out / 'clips').glob('*.json')}
    assert sidecars == set(m[m.status == 'kept']['clip'])
    for name in sidecars:
        for suffix in ('.mp4', '.mel.npy', '.motion.npz'): assert (out / 'clips' / f'{name}{suffix}').is_file()
    assert not [p for p in out.rglob('*') if '.tmp' in p.name]

def test_resume_after_sigkill(raw, curated, tmp_path):
    "Kill -9 a run once its first file is done; the same command finishes it with the uninterrupted run's manifest and clips."
    out = tmp_path / 'out'
    p = subprocess.Popen(CLI + ['curate', str(raw), str(out), '--quiet'] + CFG, env=ENV, cwd=ROOT, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    t0 = time.time()
    while not list((out / '.work').glob('*.json')) and p.poll() is None and time.time() - t0 < 120: time.sleep(0.05)
    assert p.poll() is None, "the run ended before it could be killed"
    os.killpg(p.pid, signal.SIGKILL); p.wait()
    done = len(list((out / '.work').glob('*.json')))
    assert 1 <= done < 4 and not (out / 'manifest.parquet').exists()
    q = subprocess.run(CLI + ['curate', str(raw), str(out), '--quiet'] + CFG, capture_output=True, text=True, env=ENV, cwd=ROOT)
    assert q.returncode == 1, q.stdout + q.stderr
    assert f'{done} already done' in q.stdout
    a, b = _manifest(curated), _manifest(out)
    assert a.equals(b), (a.compare(b) if a.shape == b.shape else (a.shape, b.shape))
    _clips_match_manifest(out, b)

def test_ray_matches_local(raw, curated, tmp_path):
    "The three stages as Ray Data transforms on a local cluster (a head and two worker nodes) give the local run's manifest."
    pytest.importorskip('ray', reason="Ray is the 'scale' extra (in the dev requirements)")
    import ray
    from ray.cluster_utils import Cluster
    from omnitalker.curate import config_with, curate
    cluster = Cluster(initialize_head=True, head_node_args=dict(num_cpus=1, object_store_memory=80 << 20, include_dashboard=False))
    try:
        for _ in range(2): cluster.add_node(num_cpus=1, object_store_memory=80 << 20)
        cluster.wait_for_nodes()
        s = curate(raw, tmp_path / 'out', config_with([v for v in CFG if v != '--set']), ray_address=cluster.address, progress=False)
        assert len([n for n in ray.nodes() if n['Alive']]) == 3
    finally:
        ray.shutdown(); cluster.shutdown()
    assert s.errors == 1 and s.files == 4
    a, b = _manifest(curated), _manifest(tmp_path / 'out')
    assert a.equals(b), (a.compare(b) if a.shape == b.shape else (a.shape, b.shape))
    _clips_match_manifest(tmp_path / 'out', b)

def test_curated_folder_trains(curated, tmp_path):
    "nb 09 reads a curated folder as it reads a world; nb 11's training makes a few updates on it."
    import torch
    from omnitalker.config import OmniTalkerConfig, TrainRecipe, TrainConfig, DataConfig
    from omnitalker.dataset import WorldDataset, scan_clips, collate
    from omnitalker.train import train_main
    recs = scan_clips(curated)
    assert len(recs) >= 3 and all(r.take == 0 for r in recs)
    ds = WorldDataset(recs, OmniTalkerConfig.tiny(), pairs=False)
    b = collate([ds[i] for i in range(len(ds))])
    assert torch.isfinite(b.mel).all() and torch.isfinite(b.motion).all()
    recipe = TrainRecipe(train=TrainConfig.tiny().replace(batch_size=2, warmup_steps=1, max_steps=3, log_every=1), data=DataConfig(pairs=0.0))
    release = train_main(recipe, [curated], tmp_path / 'run', device='cpu', progress=False)
    log = (tmp_path / 'run' / 'log.csv').read_text().splitlines()
    assert Path(f'{release}.safetensors').is_file() and len(log) >= 3, log

def test_curate_cli_errors(tmp_path, capsys):
    "Wrong use of `omnitalker curate` is one clear line and exit status 2, and writes nothing (the console script's `main`, in this process)."
    from omnitalker.cli import main
    for args, says in ((['curate', str(tmp_path)], 'an input and an output folder'),
                       (['curate', str(tmp_path / 'nope'), str(tmp_path / 'out')], 'does not exist'),
                       (['curate', str(tmp_path), str(tmp_path / 'out')], 'no videos'),
                       (['curate', str(tmp_path), str(tmp_path / 'out'), '--set', 'colour=red'], 'KEY one of'),
                       (['curate', str(tmp_path), str(tmp_path / 'out'), '--set', 'min_seconds=soon'], 'is not a float'),
                       (['curate', '--report', str(tmp_path)], 'no manifest.parquet')):
        rc, err = main(args), capsys.readouterr().err
        assert rc == 2 and says in err and 'Traceback' not in err, (args, err)
        assert len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / 'out').exists()
