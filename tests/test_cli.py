"The installed console script, end to end (what a notebook cannot hold: a real subprocess)."
import subprocess, sys, re
from pathlib import Path
import omnitalker
from omnitalker.cli import SUBCOMMANDS

BIN = Path(sys.executable).parent / 'omnitalker'

def run(*args):
    return subprocess.run([str(BIN), *args], capture_output=True, text=True, timeout=120)

def test_help_lists_exactly_the_subcommands():
    r = run('--help')
    assert r.returncode == 0
    listed = set(re.findall(r'^    (\w+)\s', r.stdout, flags=re.M))
    assert listed == set(SUBCOMMANDS), (listed, set(SUBCOMMANDS))

def test_version():
    r = run('--version')
    assert r.returncode == 0 and r.stdout.strip() == f'omnitalker {omnitalker.__version__}'

def test_info_runs_offline():
    r = run('info')
    assert r.returncode == 0, r.stderr
    assert 'torch' in r.stdout and 'device' in r.stdout and 'ffmpeg' in r.stdout and 'dit.n_fusion' in r.stdout

def test_unknown_command_fails_clearly():
    r = run('fly')
    assert r.returncode == 2 and 'invalid choice' in r.stderr

def test_detect_on_a_watermarked_wav_and_a_clean_one(tmp_path):
    "`omnitalker detect` finds the audio mark in a marked wav (exit 0) and none in the clean one (exit 1)."
    import numpy as np, soundfile as sf
    from omnitalker.watermark import watermark_audio
    sr, t = 24_000, np.arange(3 * 24_000) / 24_000
    wav = (0.2 * np.sin(2 * np.pi * 180 * t) * (1 + np.sin(2 * np.pi * 3 * t)) / 2
           + 0.02 * np.random.default_rng(0).standard_normal(t.size)).astype(np.float32)
    sf.write(tmp_path / 'clean.wav', wav, sr)
    sf.write(tmp_path / 'marked.wav', np.asarray(watermark_audio(wav, sr), dtype=np.float32), sr)
    marked, clean = run('detect', str(tmp_path / 'marked.wav')), run('detect', str(tmp_path / 'clean.wav'))
    assert marked.returncode == 0 and 'FOUND' in marked.stdout, marked.stdout + marked.stderr
    assert clean.returncode == 1, clean.stdout + clean.stderr

DATA = Path(__file__).resolve().parent.parent / 'data_samples'

def test_train_bad_input_fails_in_one_line(tmp_path):
    "A recipe with a field nobody knows, a recipe that is not there, a world that is not there: exit 2, one line, nothing written."
    import json
    (tmp_path / 'bad.json').write_text('{"train": {"batch": 8}}')
    (tmp_path / 'good.json').write_text(json.dumps({'data': {'repeats': 1}}))
    for args, says in (((str(tmp_path / 'bad.json'), '--world', str(DATA / 'world')), "unknown field(s) ['batch']"),
                       ((str(tmp_path / 'none.json'), '--world', str(DATA / 'world')), 'not found'),
                       ((str(tmp_path / 'good.json'), '--world', str(tmp_path / 'nowhere')), 'is not a directory')):
        r = run('train', *args, '--out', str(tmp_path / 'out'))
        assert r.returncode == 2 and says in r.stderr, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1 and 'Traceback' not in r.stderr, r.stderr
    assert not (tmp_path / 'out').exists()

def test_train_tiny_run_writes_a_loadable_release(tmp_path):
    "`--print-recipe tiny`, shortened to two updates of 2 items, on the three shipped sample clips: a release whose config is the recipe's model."
    import json
    from omnitalker.config import TrainRecipe
    from omnitalker.model import OmniTalker
    from omnitalker.train import load_release
    r = run('train', '--print-recipe', 'tiny')
    assert r.returncode == 0, r.stderr
    recipe = json.loads(r.stdout)
    recipe['train'].update(batch_size=2, warmup_steps=1, max_steps=2, log_every=1, ckpt_every=1)
    (tmp_path / 'recipe.json').write_text(json.dumps(recipe))
    r = run('train', str(tmp_path / 'recipe.json'), '--world', str(DATA / 'world'), '--out', str(tmp_path / 'run'), '--device', 'cpu')
    assert r.returncode == 0, r.stdout + r.stderr
    g = load_release(OmniTalker, tmp_path / 'run' / 'generator')
    assert g.config == TrainRecipe.from_json(tmp_path / 'recipe.json').model
    assert (tmp_path / 'run' / 'log.csv').read_text().count('\n') == 3     # a header and one row per update

def test_train_from_f5_then_generate(tmp_path):
    "`train --f5`: the warm-start recipe on the small F5-TTS fixture (nb 06a), two updates; its release generates a video like any other."
    import json
    from omnitalker.model import OmniTalker
    from omnitalker.train import load_release
    r = run('train', '--print-recipe', 'tiny')
    recipe = json.loads(r.stdout)
    recipe['train'].update(batch_size=2, warmup_steps=1, max_steps=4, log_every=1, ckpt_every=2)
    (tmp_path / 'base.json').write_text(json.dumps(recipe))
    f5 = DATA / 'f5_fixture' / 'f5_small.safetensors'
    r = run('train', str(tmp_path / 'base.json'), '--f5', str(f5), '--world', str(DATA / 'world'), '--out', str(tmp_path / 'run'), '--device', 'cpu', '--steps', '2')
    assert r.returncode == 0, r.stdout + r.stderr
    g = load_release(OmniTalker, tmp_path / 'run' / 'generator')
    assert g.config.text.filler_rule == 'f5' and g.config.text.vocab[0] == ' '   # the vocabulary beside the checkpoint, inside the release
    out = tmp_path / 'f5.mp4'
    r = subprocess.run([str(BIN), 'generate', '--generator', str(tmp_path / 'run' / 'generator'), '--text', 'Hello there.', '--steps', '2', '--out', str(out)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and out.stat().st_size > 1000, r.stdout + r.stderr
    r = run('train', '--f5', str(tmp_path / 'missing.safetensors'), '--world', str(DATA / 'world'), '--out', str(tmp_path / 'run2'))
    assert r.returncode == 2 and 'not found' in r.stderr and 'Traceback' not in r.stderr, r.stderr
    assert not (tmp_path / 'run2').exists()
