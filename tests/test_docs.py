"""What the README and docs/ state is checked against the code, so the first thing a newcomer reads stays true."""

import re
from pathlib import Path

from mathcoach.problems.phrasings import PHRASINGS
from mathcoach.problems.traces import FORMATS

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()


def test_the_package_tree_lists_every_module_and_only_those():
    block = README.split("## Package layout", 1)[1].split("```")[1]
    listed = {line.split()[0] for line in block.splitlines() if line.strip()}
    modules = {str(p.relative_to(REPO)) for p in (REPO / "mathcoach").rglob("*.py")}
    assert modules <= listed, f"modules missing from the README tree: {sorted(modules - listed)}"
    files = {x for x in listed if not any(ch in x for ch in "*") and not x.endswith("/")}
    assert all((REPO / x).exists() for x in files), [x for x in files if not (REPO / x).exists()]


def test_the_format_table_is_the_formats_of_the_code():
    table = (REPO / "docs" / "formats.md").read_text()
    rows = re.findall(r"^\| `([a-z0-9]+)` \| ([a-z, ]+) \|", table, flags=re.M)
    documented = {(fmt, op.strip()) for fmt, ops in rows for op in ops.split(",")}
    expand = {"all": list(FORMATS)}
    documented = {(f, o) for f, op in documented for o in expand.get(op, [op])}
    in_code = {(f, op) for op, fmts in FORMATS.items() for f in fmts}
    assert documented == in_code


def test_the_phrasing_counts_are_the_code_s():
    text = (REPO / "docs" / "data.md").read_text()
    stated = dict(re.findall(r"\b(mul|add|sub|div) (\d+)\b", text.split("Phrasings per operation:", 1)[1][:80]))
    assert {op: int(n) for op, n in stated.items()} == {op: len(p) for op, p in PHRASINGS.items()}


def test_every_subcommand_is_documented_and_every_doc_link_resolves():
    import argparse

    from mathcoach.cli import build_parser

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    docs = README + "".join(p.read_text() for p in (REPO / "docs").glob("*.md"))
    for name in sub.choices:
        assert f"mathcoach {name}" in docs, f"mathcoach {name} is documented nowhere"
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", README):
        assert (REPO / target).exists(), f"README links to {target}, which does not exist"


def test_readme_links_into_results_land_on_a_heading():
    heads = [line[3:] for line in (REPO / "benchmarks" / "RESULTS.md").read_text().splitlines()
             if line.startswith("## ")]
    anchors = {re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-") for h in heads}
    for anchor in re.findall(r"benchmarks/RESULTS\.md#([^)]+)\)", README):
        assert anchor in anchors, anchor


def test_the_old_flag_spellings_are_gone_from_readme_docs_and_configs():
    texts = {p: p.read_text() for p in [REPO / "README.md", REPO / "Makefile", *(REPO / "docs").glob("*.md"),
                                         *(REPO / "configs").rglob("*.toml")]}
    for path, text in texts.items():
        assert not re.search(r"--out\b(?!put)", text), f"{path} still says --out"
        assert "--system-prompt" not in text, f"{path} still says --system-prompt"
