"""Write a notebook from a light 'percent' text file, and back.

Authoring aid for contributors who prefer an editor to Jupyter. Cells are separated by lines
`# %%` (code) or `# %% [markdown]` (markdown; each line that follows is commented, `# text`, as jupytext writes it).

    python tools/pct2nb.py nbs/src/01_flow_matching.pct nbs/01_flow_matching.ipynb   # text -> notebook
    python tools/pct2nb.py --to-pct nbs/01_flow_matching.ipynb out.pct               # notebook -> text
"""
import hashlib, json, sys, re
from pathlib import Path

KERNEL = {"kernelspec": {"display_name": "python3", "language": "python", "name": "python3"}}

def pct_to_cells(text):
    cells, kind, buf, seen = [], None, [], set()
    def flush():
        if kind is None: return
        lines = [re.sub(r"^# ?", "", l) for l in buf] if kind == "markdown" else buf
        src = "\n".join(lines).strip("\n")
        if not src: return
        cid = hashlib.sha1(src.encode()).hexdigest()[:8]  # stable ids: an unchanged cell keeps its id
        while cid in seen: cid = hashlib.sha1(cid.encode()).hexdigest()[:8]
        seen.add(cid)
        cell = {"cell_type": kind, "id": cid, "metadata": {}, "source": src.splitlines(keepends=True)}
        if kind == "code": cell.update(execution_count=None, outputs=[])
        cells.append(cell)
    for line in text.splitlines():
        m = re.match(r"^# %%(\s*\[markdown\])?\s*$", line)
        if m:
            flush(); kind, buf = ("markdown" if m.group(1) else "code"), []
        else: buf.append(line)
    flush()
    return cells

def write_nb(cells, path):
    nb = {"cells": cells, "metadata": KERNEL, "nbformat": 4, "nbformat_minor": 5}
    Path(path).write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")

def nb_to_pct(path):
    nb = json.loads(Path(path).read_text(encoding="utf-8"))
    out = []
    for c in nb["cells"]:
        out.append("# %% [markdown]" if c["cell_type"] == "markdown" else "# %%")
        src = "".join(c["source"])
        out.append("\n".join("# " + l if l else "#" for l in src.splitlines()) if c["cell_type"] == "markdown" else src)
    return "\n".join(out) + "\n"

if __name__ == "__main__":
    args = sys.argv[1:]
    if args and args[0] == "--to-pct": Path(args[2]).write_text(nb_to_pct(args[1]), encoding="utf-8")
    elif len(args) == 2: write_nb(pct_to_cells(Path(args[0]).read_text(encoding="utf-8")), args[1])
    else: sys.exit(__doc__)
