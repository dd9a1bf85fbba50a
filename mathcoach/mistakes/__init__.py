"""Learning from mistakes (LeMa): collect a model's wrong answers, correct them, build training rows."""
