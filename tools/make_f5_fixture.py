"""Build the F5-TTS parity fixture in data_samples/f5_fixture/ from F5-TTS's own code.

    .venv/bin/python tools/make_f5_fixture.py --f5-src F5-TTS [--out data_samples/f5_fixture] [--commit HASH]
                                              [--deps DIR]

OmniTalker's audio half has F5-TTS's DiT architecture, and omnitalker can load F5-TTS checkpoints. This script
records what F5-TTS's *own* code computes, so the tests can prove the conversion exact without F5-TTS's code in this
repository and without a network. It builds F5-TTS's `DiT` (src/f5_tts/model/backbones/dit.py) at a small size with
random weights and writes:

- `f5_small.safetensors`: those weights (float16) in the layout of F5-TTS's released checkpoints:
  `ema_model.transformer.<DiT key>`, plus the EMA wrapper's `initted` and `step` entries.
- `vocab.txt`: the small character vocabulary the small model was built for, in F5-TTS's format.
- `f5_small_parity.safetensors`: seeded inputs and F5-TTS's outputs for them (float32): `DiT.forward` with and
  without classifier-free-guidance drops, with a padding mask (attention masked or not), and the text encoder alone.
- `f5_small.json`: how it was made, the cases and their arguments, and the full key -> shape list of the released
  F5TTS_v1_Base checkpoint (built on the `meta` device: no weights are needed or written).

It must be run where F5-TTS's public source is available locally, at the pinned commit `F5_COMMIT` below:

    git clone https://github.com/SWivid/F5-TTS && git -C F5-TTS checkout 2ae2c9bd9b64dab2cb069c4b97e5e7673c521e01

`--f5-src` (or the environment variable F5_TTS_SRC) names that checkout: the folder holding `src/f5_tts` and `data/`.
A git work tree must be at F5_COMMIT; a copy that is not a git work tree (e.g. from `git archive`) is accepted when
`--commit` declares its commit. Either way, every F5-TTS file the script reads is checked against its git blob hash
at F5_COMMIT, so local edits are refused.

Needs, besides omnitalker's own environment (torch, numpy, safetensors, librosa, PyYAML):
`x-transformers` (F5-TTS's rotary embedding; pyproject asks `x_transformers>=1.31.14`, this fixture was made with
2.31.10) with its pure-Python dependencies (einx, frozendict, loguru, torch-einops-utils; einops, packaging and
sympy are already there), and `torchdiffeq` (imported by F5-TTS's cfm.py). They need not go into the project's
environment; e.g. (the versions the fixture was made with)

    .venv/bin/pip install --target ~/f5deps --no-deps x-transformers==2.31.10 einx==0.4.3 frozendict==2.5.1 \\
        loguru==0.7.3 torch-einops-utils==0.2.0 torchdiffeq==0.2.5

and pass `--deps ~/f5deps`. F5-TTS's other import-time dependencies (torchaudio, rjieba, pypinyin, and librosa
if missing) serve only its mel-spectrogram and Chinese-text code, which the fixture never runs; where one is not
importable a stand-in module is registered that raises if it is ever used (see `stub_if_missing`).

The script is deterministic (fixed seeds, no timestamps): running it again at the same commit and versions rewrites
the same bytes, up to float rounding that can differ across CPUs. It is a maintainer's tool: neither the library
nor the tests import it; the tests read only the files it writes.
"""
from __future__ import annotations

import argparse
import hashlib
import importlib
import importlib.machinery
import importlib.metadata
import importlib.util
import json
import os
import subprocess
import sys
import types
import warnings
from pathlib import Path

import torch

F5_COMMIT = '2ae2c9bd9b64dab2cb069c4b97e5e7673c521e01'
F5_URL = 'https://github.com/SWivid/F5-TTS'

# Every F5-TTS file this script imports or reads, with its git blob hash at F5_COMMIT (`git ls-tree -r F5_COMMIT`).
F5_FILES = {
    'src/f5_tts/model/backbones/dit.py': 'e463c957f7491754cd1b07ffec2ffb093ec70bdf',
    'src/f5_tts/model/modules.py': '7165632a9c039f8ef3480fd7742e5f7085c6822e',
    'src/f5_tts/model/utils.py': 'ff349562645386bc8c2eb6782622b2927abf2f56',
    'src/f5_tts/model/cfm.py': 'e001c2ec623e190a9d3507b74f966beb09c6b893',
    'src/f5_tts/configs/F5TTS_v1_Base.yaml': 'a468c89f95a940e34cf7243f5bce5d333557bf45',
    'data/Emilia_ZH_EN_pinyin/vocab.txt': 'cd934390e8f4b3ce98eb319ae618c084d01504b5',  # stored with CRLF line ends
    'src/f5_tts/infer/examples/vocab.txt': 'a30a90c12e1ab38b95c97770d5c5cd1d03c392e2',  # same entries, LF line ends
}

SEED = 0
MAX_BYTES = 2_000_000          # the whole fixture must stay small enough to live in git
PREFIX = 'ema_model.transformer.'  # where a released checkpoint keeps the DiT's tensors (see V1_KEY_LAYOUT)

# The small model: F5TTS_v1_Base's structure (text ConvNeXt, no qk-norm, rope on all heads, no long skip) shrunk.
SMALL_ARCH = dict(dim=128, depth=2, heads=4, dim_head=32, ff_mult=2, mel_dim=100, text_dim=64, conv_layers=4,
                  text_mask_padding=True, qk_norm=None, pe_attn_head=None, attn_backend='torch',
                  long_skip_connection=False)

# The small vocabulary: F5-TTS's format is one entry per line, the line index is the id, and " " must be id 0
# (F5-TTS maps every unknown character to 0, and asserts vocab[" "] == 0 for its own vocabularies).
VOCAB = ([' '] + [chr(c) for c in range(ord('a'), ord('z') + 1)] + [chr(c) for c in range(ord('A'), ord('Z') + 1)]
         + [str(d) for d in range(10)] + list('.,!?\'-:;"()') + ['\u2014'])  # the last one is an em dash

# Two English lines of different lengths. '&' is not in VOCAB, so it exercises the unknown -> 0 rule. No punctuation
# sits directly before a word: F5-TTS's inference front end (convert_char_to_pinyin, which segments with rjieba)
# would insert a space there, and these lines are tokenised as plain character lists.
TEXTS = ['Hello world, this is a test.', 'Fix 42 bugs & ship!']
N_FRAMES, LENS, TIMES = 48, [48, 35], [0.3, 0.85]
LENS_SHORT = [20, 12]          # per-row lengths shorter than both texts: the text encoder's per-row cut
COND_FRAMES = [20, 15]         # frames of each row that carry the masked reference mel; zeros after

V1_KEY_LAYOUT = (
    "F5-TTS's released checkpoints are the state dict of the trainer's EMA wrapper (ema_pytorch.EMA around the CFM, "
    "src/f5_tts/model/trainer.py: `EMA(model, include_online_model=False)`, saved as `ema_model_state_dict`): the "
    "wrapper's own buffers `initted` (bool) and `step` (int64), then `ema_model.<CFM key>`. The CFM holds the DiT as "
    "`transformer`; its MelSpec has only a non-persistent buffer, so the CFM state dict is exactly "
    "`transformer.<DiT key>` (checked here by building F5-TTS's CFM on the meta device). "
    "src/f5_tts/infer/utils_infer.py `load_checkpoint(use_ema=True)` reads a .safetensors file as that EMA state "
    "dict, drops `initted` and `step`, strips `ema_model.`, deletes `mel_spec.mel_stft.mel_scale.fb` and "
    "`mel_spec.mel_stft.spectrogram.window` if present (buffers of older CFMs, commit 305e3ea), and loads the rest "
    "into the CFM strictly. The DiT's `rotary_embed.inv_freq` is a persistent buffer of x_transformers' "
    "RotaryEmbedding, so it is part of the state dict; `text_embed.freqs_cis` is not persistent.")


class Fail(Exception):
    "An expected failure: printed as one line, exit status 2."


# ---------------------------------------------------------------------------------------------------------------------
# Locating and checking the F5-TTS source


def git_blob_sha(path: Path) -> str:
    "The hash git gives this file's bytes as a blob (what `git hash-object` prints)."
    data = path.read_bytes()
    return hashlib.sha1(b'blob %d\0' % len(data) + data).hexdigest()


def check_source(root: Path, declared: str | None) -> tuple[str, str]:
    "Refuse anything but F5_COMMIT's files; return (commit, how it was established)."
    if not (root / 'src' / 'f5_tts').is_dir():
        raise Fail(f'{root} holds no src/f5_tts: --f5-src must name an F5-TTS checkout ({F5_URL})')
    top = subprocess.run(['git', '-C', str(root), 'rev-parse', '--show-toplevel'], capture_output=True, text=True)
    is_work_tree = top.returncode == 0 and Path(top.stdout.strip()).resolve() == root.resolve()
    if is_work_tree:
        head = subprocess.run(['git', '-C', str(root), 'rev-parse', 'HEAD'], capture_output=True, text=True)
        commit, how = head.stdout.strip(), 'git rev-parse HEAD of the F5-TTS work tree'
        if declared and declared != commit:
            raise Fail(f'--commit {declared} but the F5-TTS work tree is at {commit}')
    elif declared:
        commit, how = declared, 'declared with --commit (not a git work tree)'
    else:
        raise Fail(f'{root} is not a git work tree: say which commit it holds with --commit {F5_COMMIT}')
    if commit != F5_COMMIT and is_work_tree:
        raise Fail(f'F5-TTS is at {commit}, this fixture is pinned to {F5_COMMIT} (git -C DIR checkout {F5_COMMIT})')
    if commit != F5_COMMIT:
        raise Fail(f'--commit {commit}: this fixture is pinned to {F5_COMMIT}; use F5-TTS at that commit')
    for rel, sha in F5_FILES.items():
        if not (root / rel).is_file():
            raise Fail(f'{rel} is missing from {root}')
        if git_blob_sha(root / rel) != sha:
            raise Fail(f"{rel} differs from F5-TTS's at {F5_COMMIT[:12]} (local edits or line-ending conversion?)")
    return commit, how


# ---------------------------------------------------------------------------------------------------------------------
# Importing F5-TTS's model code


class _Unavailable:
    "Stands for anything inside a module that is not installed; using it raises."
    def __init__(self, name): self._name = name
    def __getattr__(self, attr):
        if attr.startswith('__'): raise AttributeError(attr)
        return _Unavailable(f'{self._name}.{attr}')
    def __call__(self, *args, **kwargs):
        raise RuntimeError(f'{self._name} was used, but only a stand-in is installed (see tools/make_f5_fixture.py)')


def _stand_in_getattr(module: str):
    "A PEP 562 module __getattr__: any public name is an _Unavailable; dunders (__file__, ...) stay absent."
    def getattr_(attr):
        if attr.startswith('__'): raise AttributeError(attr)
        return _Unavailable(f'{module}.{attr}')
    return getattr_


def stub_if_missing(name: str, submodules: tuple = ()) -> bool:
    """Register a stand-in for module `name` if it cannot be imported; True if it did.

    Safe for the modules it is used on: F5-TTS's model code imports them at import time but calls them only from its
    mel-spectrogram code (torchaudio, librosa) and its Chinese-to-pinyin front end (rjieba, pypinyin). The fixture
    builds the DiT and the text encoder and feeds them tensors, so none of these is ever called; if one were, the
    stand-in raises instead of returning a wrong value."""
    try:
        importlib.import_module(name)
        return False
    except Exception:      # not installed, or installed but broken (e.g. a torchaudio wheel for another torch)
        for key in [k for k in sys.modules if k == name or k.startswith(name + '.')]:
            del sys.modules[key]
    for full in (name, *(f'{name}.{s}' for s in submodules)):
        mod = types.ModuleType(full, f'stand-in for {full}, which is not installed')
        mod.__getattr__ = _stand_in_getattr(full)
        sys.modules[full] = mod
    for s in submodules: setattr(sys.modules[name], s, sys.modules[f'{name}.{s}'])
    return True


def import_f5(root: Path) -> tuple[types.SimpleNamespace, list]:
    """F5-TTS's DiT, CFM and tokenizer helpers, imported from `root`/src without running its package __init__ files.

    `f5_tts/model/__init__.py` imports the trainer (accelerate, wandb, datasets, ...), which the fixture does not use.
    So the three packages on the way to the model files are registered as empty packages whose search path is the
    checkout's folder; Python then imports dit.py, modules.py, utils.py and cfm.py themselves, unchanged."""
    stubbed = [n for n, subs in (('torchaudio', ()), ('librosa', ('filters',)), ('rjieba', ()), ('pypinyin', ()))
               if stub_if_missing(n, subs)]
    src = root / 'src'
    for name in ('f5_tts', 'f5_tts.model', 'f5_tts.model.backbones'):
        spec = importlib.machinery.ModuleSpec(name, None, is_package=True)
        spec.submodule_search_locations = [str(src.joinpath(*name.split('.')))]
        sys.modules[name] = importlib.util.module_from_spec(spec)
    try:
        dit = importlib.import_module('f5_tts.model.backbones.dit')
        utils = importlib.import_module('f5_tts.model.utils')
        cfm = importlib.import_module('f5_tts.model.cfm')
    except ImportError as e:
        raise Fail(f"cannot import F5-TTS's model code ({e}); install what this script's docstring lists") from None
    return types.SimpleNamespace(DiT=dit.DiT, CFM=cfm.CFM, get_tokenizer=utils.get_tokenizer,
                                 list_str_to_idx=utils.list_str_to_idx), stubbed


# ---------------------------------------------------------------------------------------------------------------------
# The small model, its inputs and F5-TTS's outputs


def build_small(f5, vocab_size: int, attn_mask_enabled: bool):
    with warnings.catch_warnings():   # F5-TTS warns that a torch-backend attention mask costs GPU memory: irrelevant
        warnings.simplefilter('ignore', UserWarning)
        return f5.DiT(**SMALL_ARCH, text_num_embeds=vocab_size, attn_mask_enabled=attn_mask_enabled).eval()


@torch.no_grad()
def randomise(model: torch.nn.Module, gen: torch.Generator) -> None:
    """Give every parameter random values, then round them to float16 (and back).

    F5-TTS zero-initialises the AdaLN linears, the output layers and the GRN gamma/beta; zeros there would hide
    mapping mistakes (a transposed or swapped tensor that is all zeros still "matches"). The scales keep activations
    O(1) through every layer, so every tensor moves the outputs: weights N(0, 1/fan_in), the text embedding N(0, 1),
    biases and GRN gamma/beta N(0, 0.1^2), LayerNorm scales 1 + N(0, 0.1^2). The rounding makes the float16 file
    hold exactly the weights the outputs were computed with."""
    for name, p in model.named_parameters():
        if name.endswith('text_embed.text_embed.weight'):
            v = torch.randn(p.shape, generator=gen)
        elif name.endswith('norm.weight'):                       # ConvNeXt LayerNorm scale
            v = 1 + 0.1 * torch.randn(p.shape, generator=gen)
        elif name.endswith('.bias') or name.endswith(('grn.gamma', 'grn.beta')):
            v = 0.1 * torch.randn(p.shape, generator=gen)
        else:                                                    # Linear and Conv1d weights
            v = torch.randn(p.shape, generator=gen) / p[0].numel() ** 0.5
        p.copy_(v.half().float())


def make_inputs(f5, vocab_path: Path) -> tuple[dict, dict, dict]:
    "Seeded inputs, tokenised with F5-TTS's own helpers; returns (tensors, vocab map, info for the metadata)."
    vocab_map, vocab_size = f5.get_tokenizer(str(vocab_path), 'custom')   # F5-TTS's reader: vocab[line[:-1]] = i
    assert vocab_size == len(VOCAB) and vocab_map[' '] == 0
    gen = torch.Generator().manual_seed(SEED + 1)
    b, n, lens = len(TEXTS), N_FRAMES, torch.tensor(LENS)
    mask = torch.arange(n)[None, :] < lens[:, None]                 # (b, n) bool, True on real frames
    x = torch.randn(b, n, 100, generator=gen)                       # noisy mel
    x[~mask] = 0                                                     # F5-TTS's sampler zero-pads its start noise
    cond = torch.zeros(b, n, 100)                                    # masked reference: log-mel-like, then zeros
    for i, k in enumerate(COND_FRAMES):
        cond[i, :k] = -4 + 2 * torch.randn(k, 100, generator=gen)
    # garbage for the padded frames (row 1, frames 35..47), as a half-integrated ODE state would have there; only
    # the padded frames are stored (see with_garbage)
    n_pad = int((~mask).sum())
    x_pad_garbage = 5 * torch.randn(n_pad, 100, generator=gen)
    cond_pad_garbage = 5 * torch.randn(n_pad, 100, generator=gen)
    # F5-TTS tokenises non-Chinese text character by character: list_str_to_idx(lists of characters, vocab), with
    # vocab.get(c, 0) per character and -1 padding, batch first
    text = f5.list_str_to_idx([list(s) for s in TEXTS], vocab_map)
    assert text.dtype == torch.int64 and text.shape[1] <= n
    unknown = sorted({c for s in TEXTS for c in s if c not in vocab_map})
    inputs = dict(x=x, cond=cond, text=text, time=torch.tensor(TIMES), lens=lens, mask=mask,
                  lens_short=torch.tensor(LENS_SHORT),
                  x_pad_garbage=x_pad_garbage, cond_pad_garbage=cond_pad_garbage)
    info = dict(strings=TEXTS, unknown_characters=unknown, text_lengths=[len(s) for s in TEXTS], n_frames=n,
                lens=LENS, lens_short=LENS_SHORT, time=TIMES, cond_frames=COND_FRAMES, seed=SEED,
                tokenisation='f5_tts.model.utils.list_str_to_idx([list(s) for s in strings], vocab) with the vocab '
                             "read by f5_tts.model.utils.get_tokenizer(vocab.txt, 'custom'); padding -1",
                made=dict(x='N(0,1), zero at padded frames (row 1, frames 35..47)',
                          cond='N(-4, 2^2) on the first cond_frames frames of each row, zeros after',
                          x_pad_garbage='N(0, 5^2), (number of padded frames, 100)', cond_pad_garbage='the same',
                          x_garbage='x.clone() with x_garbage[~mask] = x_pad_garbage (not stored, to save space)',
                          cond_garbage='cond.clone() with cond_garbage[~mask] = cond_pad_garbage (not stored)',
                          mask='arange(n) < lens, bool', lens='int64', lens_short='int64', text='int64, -1 padded'))
    return inputs, vocab_map, info


# (output name, model: 'v1' = attn_mask_enabled False as in F5TTS_v1_Base / 'masked' = True, x, cond, mask, drops)
DIT_CASES = [
    ('v_plain', 'v1', 'x', 'cond', None, False, False),
    ('v_drop_audio', 'v1', 'x', 'cond', None, True, False),
    ('v_drop_text', 'v1', 'x', 'cond', None, False, True),
    ('v_drop_both', 'v1', 'x', 'cond', None, True, True),
    ('v_masked', 'masked', 'x', 'cond', 'mask', False, False),
    ('v_masked_nomask_a', 'v1', 'x', 'cond', 'mask', False, False),
    ('v_masked_nomask_b', 'v1', 'x_garbage', 'cond_garbage', 'mask', False, False),
]
# (output name, seq_len: 'n' = the int N_FRAMES, else the per-row tensor of that name, drop_text).
# With text_mask_padding, per-row lengths change nothing while every text fits its row (text_masked equals
# text_plain here: both texts are shorter than 35 frames); text_masked_short cuts both texts, as DiT.forward does
# when a mask is given and a row's text is longer than its frames.
TEXT_CASES = [('text_plain', 'n', False), ('text_drop', 'n', True), ('text_masked', 'lens', False),
              ('text_masked_short', 'lens_short', False)]


def with_garbage(t: dict) -> dict:
    "The inputs plus x_garbage and cond_garbage: x and cond with the stored garbage written into the padded frames."
    t = dict(t)
    for k in ('x', 'cond'):
        t[f'{k}_garbage'] = t[k].clone()
        t[f'{k}_garbage'][~t['mask']] = t[f'{k}_pad_garbage']
    return t


def run_cases(models: dict, t: dict) -> dict:
    "Every recorded output, computed by F5-TTS's code."
    out, t = {}, with_garbage(t)
    for name, which, x, cond, mask, drop_audio, drop_text in DIT_CASES:
        out[name] = models[which](t[x], t[cond], t['text'], t['time'], mask=t[mask] if mask else None,
                                  drop_audio_cond=drop_audio, drop_text=drop_text, cache=False)
    for name, seq_len, drop_text in TEXT_CASES:
        out[name] = models['v1'].text_embed(t['text'], N_FRAMES if seq_len == 'n' else t[seq_len], drop_text=drop_text)
    return {k: v.float().contiguous() for k, v in out.items()}


def case_list() -> list:
    "The cases as the metadata states them: which model, and the arguments F5-TTS's functions were called with."
    cases = [dict(output=name, call='DiT.forward', model=f'attn_mask_enabled={which == "masked"}',
                  args=dict(x=x, cond=cond, text='text', time='time', mask=mask, drop_audio_cond=da, drop_text=dt,
                            cache=False))
             for name, which, x, cond, mask, da, dt in DIT_CASES]
    cases += [dict(output=name, call='DiT.text_embed', model='attn_mask_enabled=False',
                   args=dict(text='text', seq_len=N_FRAMES if sl == 'n' else sl, drop_text=dt))
              for name, sl, dt in TEXT_CASES]
    return cases


def check_every_tensor_matters(model, t: dict) -> None:
    "Every parameter gets a non-zero gradient from the recorded outputs: no tensor of the file goes untested."
    model.zero_grad()
    with torch.enable_grad():
        gen = torch.Generator().manual_seed(SEED + 2)
        total = 0
        for drop_audio, drop_text in ((False, False), (True, True)):
            v = model(t['x'], t['cond'], t['text'], t['time'], drop_audio_cond=drop_audio, drop_text=drop_text)
            total = total + (v * torch.randn(v.shape, generator=gen)).sum()
        total.backward()
    dead = [k for k, p in model.named_parameters() if p.grad is None or not p.grad.abs().max() > 0]
    model.zero_grad(set_to_none=True)
    if dead:
        raise Fail(f'parameters that do not reach the outputs: {dead}')


# ---------------------------------------------------------------------------------------------------------------------
# F5TTS_v1_Base's checkpoint layout


def read_vocab_f5_way(f5, path: Path) -> dict:
    "F5-TTS's own reader: text mode (so CRLF files read like LF ones), entry = line without its newline."
    return f5.get_tokenizer(str(path), 'custom')[0]


def v1_base_keys(f5, root: Path) -> dict:
    "Key -> shape of a released F5TTS_v1_Base checkpoint, from F5-TTS's config and classes built on the meta device."
    import yaml
    cfg = yaml.safe_load((root / 'src/f5_tts/configs/F5TTS_v1_Base.yaml').read_text(encoding='utf-8'))['model']
    arch, mel = cfg['arch'], cfg['mel_spec']
    vocab = read_vocab_f5_way(f5, root / 'data/Emilia_ZH_EN_pinyin/vocab.txt')       # the training vocabulary
    if vocab != read_vocab_f5_way(f5, root / 'src/f5_tts/infer/examples/vocab.txt'):  # what inference reads
        raise Fail("F5-TTS's two copies of the Emilia_ZH_EN pinyin vocabulary differ")
    # shapes only: nothing is allocated or initialised for real. (Initialising on meta makes torch import its
    # compiler stack, which warns about re-registered kernels: harmless, silenced.)
    with torch.device('meta'), warnings.catch_warnings():
        warnings.simplefilter('ignore', UserWarning)
        # as src/f5_tts/infer/utils_infer.py load_model builds it
        cfm = f5.CFM(transformer=f5.DiT(**arch, text_num_embeds=len(vocab), mel_dim=mel['n_mel_channels']),
                     mel_spec_kwargs=dict(n_fft=mel['n_fft'], hop_length=mel['hop_length'],
                                          win_length=mel['win_length'], n_mel_channels=mel['n_mel_channels'],
                                          target_sample_rate=mel['target_sample_rate'],
                                          mel_spec_type=mel['mel_spec_type']),
                     odeint_kwargs=dict(method='euler'), vocab_char_map=vocab)
    sd = cfm.state_dict()
    assert all(k.startswith('transformer.') for k in sd), 'the CFM holds more than its transformer'
    keys = [['initted', []], ['step', []]] + [['ema_model.' + k, list(v.shape)] for k, v in sd.items()]
    n_params = sum(p.numel() for p in cfm.transformer.parameters())
    return dict(config='src/f5_tts/configs/F5TTS_v1_Base.yaml', arch=arch, mel_dim=mel['n_mel_channels'],
                vocab=dict(file='data/Emilia_ZH_EN_pinyin/vocab.txt', size=len(vocab),
                           note='read the F5-TTS way (text mode, entry = line[:-1]); the file has CRLF line ends, '
                                'src/f5_tts/infer/examples/vocab.txt (read by inference) has the same entries'),
                text_num_embeds=len(vocab), n_parameters=n_params, key_layout=V1_KEY_LAYOUT,
                key_dtypes='initted: bool, step: int64 (ema_pytorch buffers); every other tensor: the float dtype '
                           'the checkpoint was saved in',
                keys=keys)


# ---------------------------------------------------------------------------------------------------------------------
# Writing


def dumps(obj, indent: int = 0, width: int = 100) -> str:
    "JSON that keeps short values on one line: one line per case, per [key, shape] pair, per list of numbers."
    pad, inner = ' ' * indent, ' ' * (indent + 2)
    one_line = json.dumps(obj, ensure_ascii=False)
    depth = lambda v: (1 + max(map(depth, v.values() if isinstance(v, dict) else v), default=0)
                       if isinstance(v, (dict, list)) else 0)
    if depth(obj) <= 1 and not isinstance(obj, dict) or (len(one_line) <= width and depth(obj) <= 2):
        return one_line
    if isinstance(obj, list):   # items of a list may be longer lines (the cases)
        return '[\n' + ',\n'.join(inner + dumps(v, indent + 2, width=260) for v in obj) + '\n' + pad + ']'
    items = (f'{inner}{json.dumps(k)}: {dumps(v, indent + 2)}' for k, v in obj.items())
    return '{\n' + ',\n'.join(items) + '\n' + pad + '}'


def verify(staged: dict, f5, vocab_size: int) -> float:
    "Re-run F5-TTS's DiT from the staged files alone; return the largest difference to the stored outputs."
    from safetensors.torch import load_file
    weights, parity = load_file(staged['f5_small.safetensors']), load_file(staged['f5_small_parity.safetensors'])
    sd = {k[len(PREFIX):]: v.float() for k, v in weights.items() if k.startswith(PREFIX)}
    models = {}
    for which in ('v1', 'masked'):
        models[which] = build_small(f5, vocab_size, attn_mask_enabled=which == 'masked')
        models[which].load_state_dict(sd, strict=True)
    with torch.no_grad():
        again = run_cases(models, parity)
    return max((again[k] - parity[k]).abs().max().item() for k in again)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                 epilog='See the docstring of tools/make_f5_fixture.py for what it needs.')
    ap.add_argument('--f5-src', type=Path, default=os.environ.get('F5_TTS_SRC'),
                    help='F5-TTS checkout holding src/f5_tts (default: $F5_TTS_SRC)')
    ap.add_argument('--out', type=Path, default=Path(__file__).resolve().parent.parent / 'data_samples/f5_fixture',
                    help='output folder (default: data_samples/f5_fixture)')
    ap.add_argument('--commit', help='the commit a --f5-src that is not a git work tree holds (full hash)')
    ap.add_argument('--deps', type=Path, action='append', default=[],
                    help='a folder put first on sys.path, e.g. one made with pip install --target (repeatable)')
    args = ap.parse_args(argv)
    if args.f5_src is None:
        raise Fail('say where the F5-TTS source is: --f5-src DIR or F5_TTS_SRC=DIR')
    root = Path(args.f5_src).expanduser()
    commit, commit_how = check_source(root, args.commit)
    for d in reversed(args.deps):
        sys.path.insert(0, str(d))
    f5, stubbed = import_f5(root)
    import safetensors
    from safetensors.torch import save_file
    xt_version = importlib.metadata.version('x-transformers')

    torch.manual_seed(SEED)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    staged = {}                                   # file name -> temporary path beside it, renamed once all is well

    def stage(name: str) -> Path:
        staged[name] = out / f'.{name}.{os.getpid()}.tmp'
        return staged[name]

    try:
        stage('vocab.txt').write_text(''.join(v + '\n' for v in VOCAB), encoding='utf-8', newline='\n')
        inputs, vocab_map, input_info = make_inputs(f5, staged['vocab.txt'])

        # the small model twice: attention masking is a processor flag, the weights are shared
        models = {'v1': build_small(f5, len(VOCAB), attn_mask_enabled=False)}
        randomise(models['v1'], torch.Generator().manual_seed(SEED))
        models['masked'] = build_small(f5, len(VOCAB), attn_mask_enabled=True)
        models['masked'].load_state_dict(models['v1'].state_dict(), strict=True)
        check_every_tensor_matters(models['v1'], inputs)
        with torch.no_grad():
            outputs = run_cases(models, inputs)
            # the masked model on the garbage-padded batch: its real frames must not move (a contrast to v1's leak)
            g = with_garbage(inputs)
            masked_garbage = models['masked'](g['x_garbage'], g['cond_garbage'], g['text'], g['time'],
                                              mask=g['mask'], cache=False)
        real1 = slice(0, LENS[1])
        leak_v1 = (outputs['v_masked_nomask_a'][1, real1] - outputs['v_masked_nomask_b'][1, real1]).abs().max().item()
        leak_masked = (outputs['v_masked'][1, real1] - masked_garbage[1, real1]).abs().max().item()
        v1_vs_masked = (outputs['v_masked_nomask_a'][1, real1] - outputs['v_masked'][1, real1]).abs().max().item()
        bad = [k for k, v in outputs.items() if not torch.isfinite(v).all()]
        if bad:
            raise Fail(f'non-finite outputs: {bad}')

        # weights in the released layout: the EMA wrapper's buffers, then ema_model.transformer.<DiT key>.
        # Parameters go as float16 (exact: they were rounded); the buffer rotary_embed.inv_freq stays float32, as
        # F5-TTS computes it, since rounding it would change the model.
        weights = {'initted': torch.tensor(True), 'step': torch.tensor(0)}
        for k, v in models['v1'].state_dict().items():
            weights[PREFIX + k] = v.half() if k != 'rotary_embed.inv_freq' else v.clone()
        save_file(weights, stage('f5_small.safetensors'), metadata={'format': 'pt'})
        save_file({**inputs, **outputs}, stage('f5_small_parity.safetensors'), metadata={'format': 'pt'})

        meta = dict(
            f5_tts=dict(repository=F5_URL, commit=commit, commit_source=commit_how,
                        files_read=list(F5_FILES), classes='f5_tts.model.backbones.dit.DiT (and its TextEmbedding), '
                        'f5_tts.model.cfm.CFM (meta device only), f5_tts.model.utils.get_tokenizer / list_str_to_idx'),
            versions=dict(torch=torch.__version__, x_transformers=xt_version, safetensors=safetensors.__version__,
                          python=sys.version.split()[0]),
            stand_in_modules=dict(modules=stubbed, why='not importable here; F5-TTS imports them at import time but '
                                  'only its mel-spectrogram and Chinese-text code calls them, which the fixture never '
                                  'runs (a stand-in raises if used)'),
            small=dict(arch={**SMALL_ARCH, 'text_num_embeds': len(VOCAB), 'dropout': 0.1},
                       models={'attn_mask_enabled=False': "F5TTS_v1_Base's setting",
                               'attn_mask_enabled=True': 'same weights; padded keys masked in attention'},
                       eval_mode=True, dtype='float32',
                       init='every parameter random (randomise() in tools/make_f5_fixture.py), then rounded to '
                            'float16; outputs computed in float32 with the rounded weights',
                       vocab=dict(file='vocab.txt', size=len(VOCAB),
                                  format='one entry per line, id = line index, " " is id 0; UTF-8, LF, final newline; '
                                         'read by F5-TTS as vocab[line[:-1]] = i; unknown characters map to 0')),
            files={'f5_small.safetensors': f"the small DiT's state dict as {PREFIX}<DiT key> (parameters float16, "
                                           'rotary_embed.inv_freq float32), plus initted (bool, True) and step '
                                           '(int64, 0) as ema_pytorch.EMA stores them',
                   'f5_small_parity.safetensors': 'inputs (x, cond, x_pad_garbage, cond_pad_garbage, time float32; '
                                                  'text, lens, lens_short int64; mask bool) and every output '
                                                  '(float32)',
                   'vocab.txt': 'the small vocabulary'},
            inputs=input_info,
            cases=case_list(),
            outputs={k: dict(shape=list(v.shape), std=round(v.std().item(), 4), max_abs=round(v.abs().max().item(), 4))
                     for k, v in outputs.items()},
            padding_leak=dict(
                attn_mask_enabled_false=leak_v1, attn_mask_enabled_true=leak_masked,
                what='max |difference| on row 1\'s real frames (0..34) between two batches that differ only in the '
                     'padded frames of row 1 (x, cond zero there vs N(0, 5^2)), mask given both times. With '
                     "attn_mask_enabled=False (F5TTS_v1_Base) the padded frames are attention keys, so F5-TTS's own "
                     'output on real frames depends on what padding holds (v_masked_nomask_a vs _b); with '
                     'attn_mask_enabled=True it does not.',
                v1_vs_masked_zero_padding=v1_vs_masked,
                v1_vs_masked_what='max |v_masked_nomask_a - v_masked| on row 1\'s real frames: even zero padding '
                                  'is not neutral for attn_mask_enabled=False, since a zero frame still becomes a key '
                                  "(the input projection's bias, normalised and time-modulated)."),
            f5tts_v1_base=v1_base_keys(f5, root),
            note='Made by tools/make_f5_fixture.py from F5-TTS\'s public source at the commit above: '
                 '.venv/bin/python tools/make_f5_fixture.py --f5-src <F5-TTS checkout> [--deps <folder>]. '
                 'Outputs were recomputed from the written files before they were kept (largest difference '
                 'in verified_max_abs_diff).',
        )

        diff = verify(staged, f5, len(VOCAB))
        if diff > 1e-6:
            raise Fail(f'the written files do not reproduce the outputs (max |diff| {diff:.3g})')
        meta['verified_max_abs_diff'] = diff
        stage('f5_small.json').write_text(dumps(meta) + '\n', encoding='utf-8')

        total = sum(p.stat().st_size for p in staged.values())
        if total > MAX_BYTES:
            sizes = ', '.join(f'{name} {p.stat().st_size}' for name, p in staged.items())
            raise Fail(f'the fixture is {total} bytes, over the {MAX_BYTES} allowed ({sizes})')
        umask = os.umask(0); os.umask(umask)
        for name, tmp in staged.items():
            os.chmod(tmp, 0o666 & ~umask)     # ordinary file permissions (safetensors creates its files 0600)
            os.replace(tmp, out / name)
    finally:
        for tmp in staged.values():
            tmp.unlink(missing_ok=True)

    for name in staged:
        print(f'{name:32s} {(out / name).stat().st_size:>9d} bytes')
    print(f'{"total":32s} {total:>9d} bytes   (F5-TTS {commit[:12]}, x_transformers {xt_version})')
    print(f'padding leak on real frames: {leak_v1:.4g} as F5TTS_v1_Base runs (attn_mask_enabled=False), '
          f'{leak_masked:.3g} with attention masked')
    print(f'written files reproduce every output to {diff:.3g}')


if __name__ == '__main__':
    try:
        main()
    except Fail as e:
        print(f'make_f5_fixture: error: {e}', file=sys.stderr)
        sys.exit(2)
