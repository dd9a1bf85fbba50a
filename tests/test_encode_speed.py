"""benchmarks/encode_speed.py: it times the trainer's own encoding of the file's first rows, and its digest is
that encoding's."""

import hashlib
import json

from mathcoach.cli import main as cli

from .helpers.bench import load

encode_speed = load("encode_speed")


def test_reports_ms_per_row_and_the_digest_of_the_trainers_encoding(tiny_model, tmp_path, capsys, monkeypatch):
    from transformers import AutoTokenizer

    from mathcoach.train.data import encode_rows

    data = tmp_path / "train.jsonl"
    assert cli(["data", "--digits", "1-2", "--per-cell", "3", "--split", "train", "-o", str(data)]) == 0
    monkeypatch.setattr("sys.argv", ["encode_speed.py", str(tiny_model), str(data), "--rows", "5"])
    capsys.readouterr()
    assert encode_speed.main() == 0
    out = json.loads(capsys.readouterr().out)
    rows = [json.loads(line) for line in data.read_text().splitlines()[:5]]
    enc = encode_rows(AutoTokenizer.from_pretrained(tiny_model), rows, None, 1280)
    want = hashlib.sha256(json.dumps([[e["input_ids"], e["completion_mask"]] for e in enc]).encode()).hexdigest()
    assert out["rows"] == 5 and out["ms_per_row"] > 0 and out["encoded_sha256"] == want
