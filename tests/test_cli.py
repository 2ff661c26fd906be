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
