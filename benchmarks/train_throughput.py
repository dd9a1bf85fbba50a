"""Training throughput: ``mathcoach train`` vs a plain TRL SFTTrainer script on the same model, data and steps.

Example: ``.venv/bin/python benchmarks/train_throughput.py --rows 256 --steps 12 --method lora --threads 2``

The plain script is what a TRL user writes from the docs: conversational ``messages`` rows straight into
``SFTTrainer`` with ``SFTConfig`` defaults (which include gradient checkpointing) and the same LoRA config,
batch size, learning rate and step count. A second plain run turns gradient checkpointing off, so the ratio
is not only that default. Throughput = non-padding tokens the trainer counted / its own train_runtime;
mathcoach's generation-based validation is switched off (it is not training throughput). Each run is its own
process, one after another, on the same threads.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

PLAIN = r'''
import json, sys, torch
from datasets import Dataset
from peft import LoraConfig
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import SFTConfig, SFTTrainer
model_dir, data, steps, batch, method, gc, threads = sys.argv[1:8]
torch.set_num_threads(int(threads))
rows = [{"messages": json.loads(l)["messages"]} for l in open(data)]
tok = AutoTokenizer.from_pretrained(model_dir)
model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
peft = LoraConfig(r=64, lora_alpha=16, lora_dropout=0.1, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"],
                  task_type="CAUSAL_LM") if method == "lora" else None
kw = {} if gc == "default" else {"gradient_checkpointing": False}
args = SFTConfig(output_dir=sys.argv[8], max_steps=int(steps), per_device_train_batch_size=int(batch),
                 learning_rate=2e-4, use_cpu=True, report_to="none", save_strategy="no", logging_steps=1000,
                 include_num_input_tokens_seen="non_padding", seed=0, **kw)
trainer = SFTTrainer(model=model, args=args, train_dataset=Dataset.from_list(rows), processing_class=tok,
                     peft_config=peft)
out = trainer.train()
print("RESULT", json.dumps({"tokens": trainer.state.num_input_tokens_seen, "runtime": out.metrics["train_runtime"],
                            "gradient_checkpointing": trainer.args.gradient_checkpointing, "bf16": trainer.args.bf16}))
'''


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--rows", type=int, default=256)
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--method", default="lora", choices=["lora", "full"])
    ap.add_argument("--format", default="long")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    a = ap.parse_args()
    os.environ["HF_HUB_OFFLINE"] = "1"
    from mathcoach.models import parse_model

    model_dir = parse_model(a.model)[1]["path"]
    tmp = Path(tempfile.mkdtemp(prefix="mc-train-bench-"))
    mc = [sys.executable, "-m", "mathcoach"]
    for split, n in (("train", a.rows), ("val", 4)):
        subprocess.run(mc + ["data", "--digits", "2x2", "--per-cell", str(n), "--split", split, "--format", a.format,
                             "-o", str(tmp / f"{split}.jsonl")], check=True, stdout=subprocess.DEVNULL)
    (tmp / "plain.py").write_text(PLAIN)
    results = {}
    for name, gc in (("plain TRL (defaults)", "default"), ("plain TRL (no grad. checkpointing)", "off")):
        p = subprocess.run([sys.executable, str(tmp / "plain.py"), str(model_dir), str(tmp / "train.jsonl"),
                            str(a.steps), str(a.batch), a.method, gc, str(a.threads), str(tmp / f"plain-{gc}")],
                           capture_output=True, text=True, check=True)
        results[name] = json.loads(p.stdout.split("RESULT ", 1)[1])
    subprocess.run(mc + ["train", "--model", a.model, "--train", str(tmp / "train.jsonl"), "--val",
                         str(tmp / "val.jsonl"), "--method", a.method, "--max-steps", str(a.steps), "--batch-size",
                         str(a.batch), "--eval-steps", str(10 * a.steps), "--eval-problems", "1", "--threads",
                         str(a.threads), "--learning-rate", "2e-4", "--output", str(tmp / "mc")],
                   check=True, capture_output=True)
    r = json.loads((tmp / "mc" / "train_results.json").read_text())
    results["mathcoach train"] = {"tokens": r["tokens_seen"], "runtime": r["train_runtime_s"], "gradient_checkpointing": False,
                                  "bf16": None}
    base = results["plain TRL (defaults)"]
    base_tps = base["tokens"] / base["runtime"]
    print(f"{a.model}, {a.method}, {a.rows} rows of {a.format} 2x2, {a.steps} steps x batch {a.batch}, "
          f"{a.threads} threads\n")
    print("| trainer | tokens | seconds | tokens/s | vs plain TRL defaults |\n|---|---:|---:|---:|---:|")
    for name, v in results.items():
        tps = v["tokens"] / v["runtime"]
        print(f"| {name} | {v['tokens']} | {v['runtime']:.1f} | {tps:.1f} | {tps / base_tps:.2f}x |")


if __name__ == "__main__":
    main()
