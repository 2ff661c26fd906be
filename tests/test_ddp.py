"""DDP on the CPU (nb 11): two gloo processes started by torchrun train like one process with the combined batch.

Two ranks train a tiny MLP regressor and a tiny GAN with `omnitalker.train.Trainer` and write their final
weights to OUT_DIR, which `check` compares. The default test starts the two ranks as two fresh Python
processes with the environment torchrun would set (no torchrun agent: fast); `OMNITALKER_SLOW=1` adds the
real launcher, `python -m torch.distributed.run --standalone --nproc_per_node 2 tests/test_ddp.py OUT_DIR`
(nb 11 runs it).

Neither path can hang the test run: a rank's collectives raise after 60 s without the other rank
(`setup_ddp(timeout=60)`), a watchdog prints a rank's stack and ends it after 150 s, and the test kills any
rank still running at its deadline. (Forking the ranks from pytest, as an earlier version did, once left a
rank hung after its last all-reduce in CI, and pytest waited on it until CI's limit.)
"""
import faulthandler, os, socket, subprocess, sys, time
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from safetensors.torch import load_file, save_file

from omnitalker.config import ConfigBase, TrainConfig
from omnitalker.train import LossOutput, Trainer, find_checkpoint, setup_ddp, teardown_ddp

B = 8  # items per process
RANK_TIMEOUT = 150    # s: a rank's watchdog ends it (with its stack printed) after this long


@dataclass(frozen=True)
class NetConfig(ConfigBase):
    hidden: int = 16


class Data:
    "A fixed regression problem, y = sin(x0) + x1 x2."
    def __init__(self, n=96):
        g = torch.Generator().manual_seed(0)
        self.x = torch.randn(n, 3, generator=g)
        self.y = torch.sin(self.x[:, :1]) + self.x[:, 1:2] * self.x[:, 2:3]
    def __len__(self): return len(self.x)
    def __getitem__(self, i): return self.x[i], self.y[i]


def collate(items): return torch.stack([x for x, _ in items]), torch.stack([y for _, y in items])


class Net(nn.Module):
    "Deterministic loss (no noise, no dropout), so that one process can reproduce two."
    def __init__(self, config: NetConfig):
        super().__init__(); self.config = config
        self.net = nn.Sequential(nn.Linear(3, config.hidden), nn.Tanh(), nn.Linear(config.hidden, 1))
    def loss(self, batch, generator):
        x, y = batch
        mse = (self.net(x) - y).pow(2).mean()
        return LossOutput.of(mse, mse=mse)


class Gan(nn.Module):
    "1-D GAN: exercises the discriminator hook (two optimisers, unused parameters in the D update) under DDP."
    def __init__(self, config: NetConfig):
        super().__init__(); self.config = config
        self.g = nn.Linear(1, 1)
        self.d = nn.Sequential(nn.Linear(1, config.hidden), nn.LeakyReLU(0.2), nn.Linear(config.hidden, 1))
    def fake(self, n, generator): return self.g(torch.randn(n, 1, generator=generator, device=generator.device))
    def loss(self, batch, generator):
        l = F.softplus(-self.d(self.fake(len(batch[0]), generator))).mean()
        return LossOutput.of(l, gan=l)
    def discriminator_parameters(self): return self.d.parameters()
    def discriminator_loss(self, batch, generator):
        with torch.no_grad(): fake = self.fake(len(batch[0]), generator)
        l = F.softplus(-self.d(batch[1])).mean() + F.softplus(self.d(fake)).mean()
        return LossOutput.of(l)


def cfg(batch_size): return TrainConfig.tiny().replace(lr=1e-2, warmup_steps=3, max_steps=12, batch_size=batch_size, log_every=4, ckpt_every=1000)


def train(model_cls, run_dir, batch_size, init_seed):
    torch.manual_seed(init_seed)
    return Trainer(model_cls(NetConfig()), Data(), cfg(batch_size), collate, run_dir, progress=False).fit()


def worker(out: Path):
    "Body of each torchrun process."
    faulthandler.dump_traceback_later(RANK_TIMEOUT, exit=True)
    info = setup_ddp(timeout=60)
    try:
        for name, cls in (('mlp', Net), ('gan', Gan)):
            # a different init on each rank: DDP must broadcast rank 0's weights (init seed 0) to all
            tr = train(cls, out / f'ddp_{name}', B, init_seed=info.rank)
            save_file({k: v.contiguous() for k, v in tr.model.state_dict().items()}, str(out / f'{name}_rank{info.rank}.safetensors'))
            save_file({k: v.contiguous() for k, v in tr.ema.shadow.items()}, str(out / f'{name}_ema_rank{info.rank}.safetensors'))
    finally:
        teardown_ddp()


def _max_diff(a, b):
    assert set(a) == set(b)
    return max((a[k] - b[k]).abs().max().item() for k in a)


def check(out: Path):
    "What the two processes must have produced."
    for name in ('mlp', 'gan'):
        w0, w1 = load_file(str(out / f'{name}_rank0.safetensors')), load_file(str(out / f'{name}_rank1.safetensors'))
        assert _max_diff(w0, w1) == 0.0, f"{name}: the ranks' weights differ"
        e0, e1 = load_file(str(out / f'{name}_ema_rank0.safetensors')), load_file(str(out / f'{name}_ema_rank1.safetensors'))
        assert _max_diff(e0, e1) == 0.0, f"{name}: the ranks' EMA weights differ"
        assert find_checkpoint(out / f'ddp_{name}').name == 'step_00000012'   # rank 0 saved
    threads = torch.get_num_threads(); torch.set_num_threads(1)
    try:  # one process, the combined batch of 2 * B items, the same init as rank 0
        single = train(Net, out / 'single', 2 * B, init_seed=0)
        torch.manual_seed(0); init = Net(NetConfig()).state_dict()
    finally: torch.set_num_threads(threads)
    w0 = load_file(str(out / 'mlp_rank0.safetensors'))
    assert _max_diff(w0, single.model.state_dict()) <= 1e-6
    assert _max_diff(w0, init) > 1e-3   # the weights moved: the comparison above is not trivially true
    # rank 0 wrote the log with values averaged over both processes; they match the single process's log
    import pandas as pd
    a, b = pd.read_csv(out / 'ddp_mlp/log.csv'), pd.read_csv(out / 'single/log.csv')
    assert a.step.tolist() == b.step.tolist() == [4, 8, 12]
    assert (a.loss - b.loss).abs().max() <= 1e-5


def _free_port() -> int:
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]


def run_ranks(out: Path, world: int = 2, deadline: float = RANK_TIMEOUT + 30) -> list:
    "Start `world` ranks of this file as fresh processes with torchrun's environment; wait for them, killing any past the deadline."
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'WORLD_SIZE': str(world), 'MASTER_ADDR': '127.0.0.1', 'MASTER_PORT': str(_free_port())}
    logs = [out / f'rank{r}.log' for r in range(world)]
    files = [open(log, 'w') for log in logs]
    procs = [subprocess.Popen([sys.executable, __file__, str(out)], env={**env, 'RANK': str(r), 'LOCAL_RANK': str(r)},
                              stdout=f, stderr=subprocess.STDOUT) for r, f in enumerate(files)]
    end = time.monotonic() + deadline
    try:
        for p in procs:
            try: p.wait(timeout=max(0.1, end - time.monotonic()))
            except subprocess.TimeoutExpired: pass
    finally:
        for p in procs:
            if p.poll() is None: p.kill(); p.wait()
        for f in files: f.close()
    return [(p.returncode, log.read_text()[-3000:]) for p, log in zip(procs, logs)]


def test_two_gloo_processes_equal_one_process_with_the_combined_batch(tmp_path):
    "Fast path: two fresh ranks with the environment torchrun would give them, gloo on 127.0.0.1."
    ranks = run_ranks(tmp_path)
    assert [rc for rc, _ in ranks] == [0, 0], '\n'.join(f"rank {r}: exit code {rc}\n{log}" for r, (rc, log) in enumerate(ranks))
    check(tmp_path)


@pytest.mark.skipif(not os.environ.get('OMNITALKER_SLOW'), reason="slow (starts 3 Python processes): set OMNITALKER_SLOW=1")
def test_torchrun_launch(tmp_path):
    "The real launcher: `python -m torch.distributed.run --standalone --nproc_per_node 2 tests/test_ddp.py OUT`."
    env = {**os.environ, 'OMP_NUM_THREADS': '1'}
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', '2', __file__, str(tmp_path)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stderr[-4000:]
    check(tmp_path)


if __name__ == '__main__':
    worker(Path(sys.argv[1]))
