"""`omnitalker generate` and `detect` as a hostile user drives them: each bad input ends in one clear line, exit status 2,
no traceback, and no output or temporary file left behind. Most cases call the console script's `main` in this process
(fast); one runs the installed script in a subprocess to check the process-level behaviour."""
import json, shutil, subprocess, sys
from pathlib import Path
import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
REF = ROOT / 'data_samples' / 'reference_arctic_a0007.mp4'
GEN = ROOT / 'data_samples' / 'checkpoints' / 'generator_tiny'
WAV = ROOT / 'data_samples' / 'arctic_a0007.wav'
BIN = Path(sys.executable).parent / 'omnitalker'

def _ffmpeg(*args):
    from omnitalker.config import ffmpeg_exe
    subprocess.run([ffmpeg_exe(), '-y', '-v', 'error', *map(str, args)], check=True)

@pytest.fixture(scope='module')
def bad(tmp_path_factory) -> dict:
    "Broken releases and references, made from the shipped ones."
    from safetensors.torch import load_file, save_file
    d = tmp_path_factory.mktemp('bad')
    def release(name, weights: bytes | None = None, config: str | None = None, nan: bool = False):
        (d / f'{name}.json').write_text(GEN.with_suffix('.json').read_text() if config is None else config)
        if nan:
            w = load_file(GEN.with_suffix('.safetensors')); k = sorted(w)[3]; w[k] = torch.full_like(w[k], float('nan'))
            save_file(w, d / f'{name}.safetensors')
        else: (d / f'{name}.safetensors').write_bytes(GEN.with_suffix('.safetensors').read_bytes() if weights is None else weights)
        return d / name
    raw = GEN.with_suffix('.safetensors').read_bytes()
    flipped, rng = bytearray(raw), np.random.default_rng(0)                     # 2,000 random bits flipped in the tensors' bytes
    body = 8 + int.from_bytes(raw[:8], 'little')                                 # after the header: finite but wild weights
    for i, b in zip(rng.integers(body, len(raw), 2000), rng.integers(0, 8, 2000)): flipped[i] ^= 1 << int(b)
    cases = dict(corrupt_header=release('corrupt', b'\xff' * 16 + raw[16:]), truncated=release('truncated', raw[:len(raw) // 2]),
                 nan_weights=release('nan', nan=True), flipped=release('flipped', bytes(flipped)), empty_json=release('empty_json', config=''), bad_json=release('bad_json', config='{"config": '))
    (d / 'half.mp4').write_bytes(REF.read_bytes()[:REF.stat().st_size // 2])
    _ffmpeg('-i', REF, '-t', 0.13, '-vn', '-c:a', 'aac', d / 'a.m4a')
    _ffmpeg('-i', REF, '-i', d / 'a.m4a', '-map', '0:v', '-map', '1:a', '-c', 'copy', d / 'short_audio.mp4')
    _ffmpeg('-i', REF, '-t', 0.3, '-c:v', 'libx264', '-c:a', 'aac', d / 'short.mp4')
    (d / 'file.txt').write_text('a file, not a folder')
    from omnitalker.audio import read_audio
    from omnitalker.generate import read_video, write_mp4
    frames, wav = read_video(REF)[0], read_audio(REF, 24_000)                      # (100, 256, 256, 3) at 25 fps, 4 s
    other = read_video(ROOT / 'data_samples' / 'world' / 'sample_b.mp4')[0]                 # another person, talking
    write_mp4(d / 'cut.mp4', np.concatenate([frames[:50], other[:50]]), wav)       # shot, then another person: a cut at 2 s
    write_mp4(d / 'two_faces.mp4', np.concatenate([np.resize(other, frames.shape), frames], axis=2), wav)    # a talker out of sync | the speaker
    b = bytearray(WAV.read_bytes()); b[34:36] = (36).to_bytes(2, 'little'); (d / 'b36.wav').write_bytes(bytes(b))   # 36-bit samples
    cases.update(dir=d)
    return cases

def run_cli(argv, capsys, out: Path | None = None) -> str:
    "Run `omnitalker ARGV` in this process; check the one-line error, exit status 2 and that `out` (if given) was not written."
    from omnitalker.cli import main
    rc = main(argv)
    err = capsys.readouterr().err.strip()
    assert rc == 2, (argv, rc, err)
    lines = [l for l in err.splitlines() if l.strip() and not l.startswith(('W0000', 'I0000', 'INFO:', 'reference transcript'))]
    assert len(lines) == 1 and ': error: ' in lines[0] and 'Traceback' not in err, err
    if out is not None:
        assert not out.exists(), out
        assert not [p for p in out.parent.glob('*') if '.tmp' in p.name] if out.parent.is_dir() else True
    return lines[0]

def gen(*extra, out, ref=REF, text='Hello there.'):
    return ['generate', '--text', text, '--ref', str(ref), '--ref-text', 'and you always want to see it in the superlative degree',
            '--out', str(out), *map(str, extra)]

def test_output_paths(bad, capsys, tmp_path):
    d = bad['dir']
    assert 'is a folder' in run_cli(gen(out=tmp_path), capsys)
    assert 'is a file, not a folder' in run_cli(gen(out=d / 'file.txt' / 'x.mp4'), capsys)
    assert 'cannot write' in run_cli(gen(out=Path('/proc/x.mp4')), capsys)

def test_settings(capsys, tmp_path):
    out = tmp_path / 'x.mp4'
    assert 'finite' in run_cli(gen('--cfg-text', 'nan', '--no-watermark', out=out), capsys, out)
    assert f'at most' in run_cli(gen('--steps', 10000, out=out), capsys, out)
    assert 'positive integer' in run_cli(gen('--steps', 0, out=out), capsys, out)
    assert 'nothing to speak' in run_cli(gen(out=out, text='\U0001F600\U0001F389'), capsys, out)
    if not torch.cuda.is_available(): assert 'no usable CUDA' in run_cli(gen('--device', 'cuda', out=out), capsys, out)

@pytest.mark.parametrize('case, says', [('corrupt_header', 'corrupt or truncated weights'), ('truncated', 'corrupt or truncated weights'),
                                        ('nan_weights', 'holds NaN or infinite'), ('flipped', 'sampling produced non-finite'),
                                        ('empty_json', 'not a readable release config'),
                                        ('bad_json', 'not a readable release config')])
def test_broken_weights(bad, case, says, capsys, tmp_path):
    out = tmp_path / 'x.mp4'
    line = run_cli(gen('--generator', bad[case], '--no-watermark', out=out), capsys, out)
    assert says in line and bad[case].name in line, line

def test_bad_references(bad, capsys, tmp_path):
    out, d = tmp_path / 'x.mp4', bad['dir']
    assert 'truncated or corrupt' in run_cli(gen(out=out, ref=d / 'half.mp4'), capsys, out)
    line = run_cli(gen(out=out, ref=d / 'short_audio.mp4'), capsys, out)
    assert 'of audio under' in line, line
    assert 'at least 1 s' in run_cli(gen(out=out, ref=d / 'short.mp4'), capsys, out)
    assert 'is a folder' in run_cli(['detect', str(d)], capsys)
    line = run_cli(gen(out=out, ref=d / 'cut.mp4'), capsys, out)
    assert 'changes shot at 2.00 s' in line and 'ffmpeg -ss' in line, line
    assert 'cannot decode its audio stream' in run_cli(['detect', str(d / 'b36.wav')], capsys)

def test_two_faces(bad, capsys, tmp_path):
    "Two faces: the speaker is chosen by a printed rule; --face picks another; --quiet prints nothing."
    from omnitalker.cli import main
    out = tmp_path / 'x.mp4'
    assert main(gen('--steps', 2, out=out, ref=bad['dir'] / 'two_faces.mp4')) == 0
    err = capsys.readouterr().err
    assert 'shows 2 faces; using the speaking one' in err and 'face 2 from the left' in err, err
    assert out.is_file() and not [p for p in tmp_path.iterdir() if '.tmp' in p.name]
    assert main(gen('--steps', 1, '--face', 'left', '--quiet', out=tmp_path / 'y.mp4', ref=bad['dir'] / 'two_faces.mp4')) == 0
    said = capsys.readouterr()
    assert said.out == '' and said.err == '', said

def test_console_script(tmp_path):
    "The installed script: exit status 2, one line on stderr, nothing on stdout, no file; --debug shows the traceback."
    args = [str(BIN), 'generate', '--text', 'Hi.', '--steps', '0', '--out', str(tmp_path / 'x.mp4')]
    p = subprocess.run(args, capture_output=True, text=True)
    assert p.returncode == 2 and p.stderr.strip() == 'omnitalker generate: error: steps must be a positive integer, got 0', p.stderr
    assert not list(tmp_path.iterdir())
    q = subprocess.run([args[0], '--debug'] + args[1:], capture_output=True, text=True)
    assert q.returncode != 0 and 'Traceback' in q.stderr

# --- the loaders on damaged files: always their own error (`AudioError`, `MediaError`), never another exception ---
from hypothesis import HealthCheck, given, settings, strategies as st

PREFIXES = [b'', b'RIFF\x24\x00\x00\x00WAVEfmt ', b'\x00\x00\x00\x20ftypisom', b'\x1a\x45\xdf\xa3', b'ID3\x03\x00']   # wav, mp4, mkv, mp3 magic

def _loads_or_says(path):
    "Read `path` as audio and as a video to curate; only our own errors may come out."
    from omnitalker.audio import AudioError, read_audio
    from omnitalker.curate import CurateConfig, MediaError, decode_audio, decode_video, inspect_media
    try: read_audio(path)
    except AudioError: pass
    try:
        info = inspect_media(path); frames = decode_video(path, info, CurateConfig()); decode_audio(path, len(frames), CurateConfig())
    except MediaError: pass

@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(prefix=st.sampled_from(PREFIXES), body=st.binary(max_size=4096))
def test_random_bytes(tmp_path, prefix, body):
    p = tmp_path / 'x.mp4'; p.write_bytes(prefix + body)
    _loads_or_says(p)

@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(src=st.sampled_from([REF, WAV]), cut=st.floats(0.0, 0.99))
def test_truncated_real_files(tmp_path, src, cut):
    data = src.read_bytes(); p = tmp_path / f'cut{src.suffix}'; p.write_bytes(data[:int(len(data) * cut)])
    _loads_or_says(p)

def test_truncated_wav_named(tmp_path):
    "A WAV that ends early (236 of 4,427 frames read without a word, before) is an error that says how much is there."
    from omnitalker.audio import AudioError, read_audio
    p = tmp_path / 'eof.wav'; p.write_bytes(WAV.read_bytes()[:WAV.stat().st_size // 10])
    with pytest.raises(AudioError, match='truncated WAV'): read_audio(p)
