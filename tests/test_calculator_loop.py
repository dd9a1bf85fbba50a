"""The calculator during generation: the loop's rules, batched == one at a time on a real tiny model, the API
path over real HTTP to ``mathcoach serve``, and endpoints that cannot run it."""

from __future__ import annotations

import json
import threading

import pytest

from mathcoach.models.base import Completion, Request
from mathcoach.tools.calculator import evaluate
from mathcoach.tools.calculator_loop import CalculatorLoop, open_expression


@pytest.mark.parametrize("text, expr", [
    ("so <<48/2=", "48/2"), ("<<2*3>>6 and <<6+1=", "6+1"), ("48/2 =", None), ("<<48/2=24>>24 =", None),
    ("<<3*4", None), ("<<=", None), ("<<1=2=", None),
])
def test_only_an_equals_sign_inside_an_open_annotation_is_computed(text, expr):
    assert open_expression(text) == expr


# A scripted "model" that writes its k-th segment when its partial answer holds k '=' signs, so what it writes
# after each stop is known; the values it would have written itself (25, 70) are wrong on purpose.
SEGMENTS = ["Half is 48/2 ", " <<48/2", "25>>24 clips; in all <<48+24", "70>>72.\nThe answer is 72."]


class Segments:
    identity = {"backend": "segments"}

    def __init__(self):
        self.requests: list[Request] = []

    def generate(self, requests):
        out = []
        for r in requests:
            self.requests.append(r)
            partial = r.messages[-1]["content"] if r.continue_final else ""
            seg = SEGMENTS[partial.count("=")]
            if partial.endswith(">>"):  # the loop wrote the value: the model goes on after it
                seg = seg.split(">>", 1)[1]
            if "=" in r.stop and not seg.endswith("72."):
                out.append(Completion(text=seg, completion_tokens=len(seg), finish_reason="stop", stop_reason="="))
            else:
                out.append(Completion(text=seg, completion_tokens=len(seg), finish_reason="stop"))
        return out


def test_the_loop_writes_each_value_and_the_model_goes_on_from_it():
    model = Segments()
    [c] = CalculatorLoop(model).generate([Request(messages=({"role": "user", "content": "q"},), max_tokens=500)])
    assert c.text == "Half is 48/2 = <<48/2=24>>24 clips; in all <<48+24=72>>72.\nThe answer is 72."
    assert c.extra["calculator"] == [{"expr": "48/2", "value": "24"}, {"expr": "48+24", "value": "72"}]
    assert c.extra["stops"] == 3 and c.finish_reason == "stop"
    assert [r.continue_final for r in model.requests] == [False, True, True, True]
    assert model.requests[2].messages[-1]["content"] == "Half is 48/2 = <<48/2=24>>"
    assert [r.max_tokens for r in model.requests][:2] == [500, 500 - len(SEGMENTS[0])]  # one budget for the reply


def test_a_reply_out_of_tokens_ends_at_its_last_stop():
    [c] = CalculatorLoop(Segments()).generate([Request(messages=({"role": "user", "content": "q"},),
                                                       max_tokens=len(SEGMENTS[0]))])
    assert c.text == "Half is 48/2 =" and c.finish_reason == "length" and c.extra["calculator"] == []


def _requests(n: int = 8) -> list[Request]:
    reqs = []
    for i in range(n):
        msgs = ({"role": "user", "content": f"What is {i + 3} * {7 * i + 2}?"},)
        if i % 2:  # half of them start inside an annotation, so the calculator must fill in a value
            msgs += ({"role": "assistant", "content": f"So <<{i + 3}*{7 * i + 2}="},)
        reqs.append(Request(messages=msgs, max_tokens=48, continue_final=bool(i % 2)))
    return reqs


def _check_calls(completions: list[Completion]) -> int:
    calls = 0
    for c in completions:
        for call in c.extra["calculator"]:
            assert call["value"] == evaluate(call["expr"]) and f"<<{call['expr']}={call['value']}>>" in c.text
            calls += 1
    return calls


def test_batched_loop_gives_exactly_the_text_of_one_request_at_a_time(tiny_model):
    from mathcoach.models.hf import HFBackend

    reqs = _requests()
    batched = CalculatorLoop(HFBackend(tiny_model, batch_size=8)).generate(reqs)
    single = HFBackend(tiny_model, batch_size=1)
    one_by_one = [CalculatorLoop(single).generate([r])[0] for r in reqs]
    assert [c.text for c in batched] == [c.text for c in one_by_one]
    assert [c.extra for c in batched] == [c.extra for c in one_by_one]
    assert _check_calls(batched) >= 4  # every prefilled annotation was computed


@pytest.fixture
def served_tiny(tiny_model):
    from mathcoach.models.hf import HFBackend
    from mathcoach.serve import make_server

    server = make_server(HFBackend(tiny_model, batch_size=16), "tiny", port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def test_the_loop_runs_over_http_through_serve_as_it_runs_in_process(tiny_model, served_tiny):
    from mathcoach.models.hf import HFBackend
    from mathcoach.models.openai_api import OpenAIBackend

    reqs = _requests()
    api = CalculatorLoop(OpenAIBackend("tiny", base_url=served_tiny, concurrency=4)).generate(reqs)
    local = CalculatorLoop(HFBackend(tiny_model, batch_size=8)).generate(reqs)
    assert [c.text for c in api] == [c.text for c in local]
    assert _check_calls(api) >= 4 and all(c.error is None for c in api)


@pytest.mark.parametrize("tools", ["calculator", "python"])
def test_each_tool_mode_over_serve_matches_the_local_model(tiny_model, served_tiny, tmp_path, tools):
    from mathcoach.cli import main

    data = tmp_path / "test.jsonl"
    assert main(["data", "--digits", "1-2", "--per-cell", "2", "--split", "test", "-o", str(data)]) == 0
    common = ["--data", str(data), "--tools", tools, "--max-tokens", "24", "--no-progress"]
    assert main(["eval", "--model", f"openai:tiny@{served_tiny}", *common, "-o", str(tmp_path / "http")]) == 0
    assert main(["eval", "--model", str(tiny_model), *common, "-o", str(tmp_path / "local")]) == 0
    rows = {}
    for name in ("http", "local"):
        rows[name] = [json.loads(x) for x in (tmp_path / name / "samples.jsonl").read_text().splitlines()]
    assert [r["completion"] for r in rows["http"]] == [r["completion"] for r in rows["local"]]
    untimed = {name: [{k: v for k, v in r["tool"].items() if k != "seconds"} for r in rows[name]] for name in rows}
    assert untimed["http"] == untimed["local"]  # the same programs with the same outcomes, or the same fills
    key = "calculator" if tools == "calculator" else "program"
    assert all(key in r["tool"] and r["correct"] is not None for r in rows["http"])
    res = json.loads((tmp_path / "http" / "results.json").read_text())
    assert res["tools"] == tools and res["metrics"]["overall"]["unscored"] == 0
    # a resumed run asks nothing again: every stop of every reply comes from the cache
    assert main(["eval", "--model", str(tiny_model), *common, "-o", str(tmp_path / "local"), "--resume"]) == 0
    again = json.loads((tmp_path / "local" / "results.json").read_text())
    assert again["calls"]["made"] == 0


def _no_stop_reason_server():
    """An OpenAI-style endpoint that stops at stop strings but, like most hosted APIs, never says which one."""
    from tests.helpers.reply_server import reply_server

    return reply_server(lambda body: "So 3 * 4 ")


def test_an_endpoint_that_cannot_continue_is_refused_in_one_line(tmp_path, capsys):
    from mathcoach.cli import main

    data = tmp_path / "test.jsonl"
    assert main(["data", "--digits", "1x1", "--per-cell", "2", "--split", "test", "-o", str(data)]) == 0
    server, url = _no_stop_reason_server()
    try:
        capsys.readouterr()
        code = main(["eval", "--model", f"openai:m@{url}", "--data", str(data), "--tools", "calculator",
                     "--no-progress", "-o", str(tmp_path / "run")])
    finally:
        server.shutdown()
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "stop_reason" in err[0] and err[0].startswith("mathcoach: error:")
    assert not (tmp_path / "run" / "results.json").exists()
    assert main(["eval", "--model", "openrouter:x/y", "--data", str(data), "--tools", "calculator"]) == 2
