"""Program-aided answers (PAL): take the program from a model's reply, run it in the sandbox, read its result.

Example: ``run_reply("```python\\ndef solution():\\n    return 3 * 4\\n```").answer`` -> ``"12"``

As in reasoning-machines/pal, the model writes ``def solution(): ... return result``; the program is run and a
program that raises, times out or returns nothing scores 0 (an answer of None), with the reason kept. A reply
without ``solution()`` that prints is read by its last printed line, as program-of-thought prompts do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from mathcoach.problems.answer import normalize_number
from mathcoach.tools.sandbox import Limits, run_python

_FENCE = re.compile(r"```(?:python|py)?[ \t]*\n(.*?)(?:```|\Z)", re.S)
_MARK = "__mathcoach_result__="
_RUNNER = f"""

if __name__ == "__main__":
    _r = solution()
    print({_MARK!r} + repr(_r))
"""


@dataclass
class ProgramResult:
    program: str | None
    answer: str | None  # the result as the answer checker reads it; None scores 0
    stdout: str
    error: str | None
    seconds: float
    isolation: str | None


def extract_program(reply: str) -> str | None:
    """The last fenced code block of the reply, or the text from ``def solution`` on; None when there is none."""
    blocks = [b for b in _FENCE.findall(reply or "") if b.strip()]
    if blocks:
        return blocks[-1].strip("\n") + "\n"
    i = (reply or "").find("def solution")
    return reply[i:].strip("\n") + "\n" if i >= 0 else None


def _as_answer(text: str) -> str | None:
    """The repr of a result (or a printed line) as the answer checker reads it: "24.0" -> "24", "'1,250'" ->
    "1250", "0.30000000000000004" -> "0.3"; None, or anything that is not a number, gives no answer. A float is
    rounded to 6 places first, as the calculator writes values: binary floating point must not turn a right
    program wrong (PAL's own scoring allows 1e-3)."""
    text = text.strip().strip("'\"")
    if re.fullmatch(r"-?\d+\.\d+(e-?\d+)?", text):
        text = f"{round(float(text), 6):.6f}"
    return normalize_number(text)


_BATCH = """
import json
for _i, _src in enumerate(json.loads({programs!r})):
    _ns = {{"__name__": "solution_%d" % _i}}
    try:
        exec(compile(_src, "program_%d" % _i, "exec"), _ns)
        print({mark!r} + json.dumps([_i, repr(_ns["solution"]())]))
    except BaseException as _e:
        print({mark!r} + json.dumps([_i, None, type(_e).__name__]))
"""


def run_programs(programs: list[str], chunk: int = 1000) -> list[str | None]:
    """The answer of each of many trusted ``def solution()`` programs (ones mathcoach built, not a model's), in
    one sandbox process per ``chunk`` rather than one each: verifying 7,473 GSM8K programs takes seconds."""
    import json

    answers: list[str | None] = [None] * len(programs)
    for s in range(0, len(programs), chunk):
        part = programs[s : s + chunk]
        limits = Limits(cpu_s=60, wall_s=120.0, output_bytes=200 * len(part) + 4096)
        r = run_python(_BATCH.format(programs=json.dumps(part), mark=_MARK), limits)
        for line in r.stdout.splitlines():
            if line.startswith(_MARK):
                i, value = json.loads(line[len(_MARK):])[:2]
                answers[s + i] = _as_answer(value) if value is not None else None
    return answers


def run_reply(reply: str, limits: Limits = Limits()) -> ProgramResult:
    program = extract_program(reply)
    if program is None:
        return ProgramResult(None, None, "", "no program in the reply", 0.0, None)
    has_solution = re.search(r"^def solution\s*\(", program, re.M) is not None
    r = run_python(program + (_RUNNER if has_solution else ""), limits)
    lines = r.stdout.strip().splitlines()
    answer = None
    if r.ok and has_solution:
        marked = [x for x in lines if x.startswith(_MARK)]
        answer = _as_answer(marked[-1][len(_MARK):]) if marked else None
    elif r.ok and lines:
        answer = _as_answer(lines[-1])
    error = r.error or (None if answer is not None else "the program gave no result")
    shown = "\n".join(x for x in lines if not x.startswith(_MARK))
    return ProgramResult(program, answer, shown, error, r.seconds, r.isolation)
