"""mathcoach: teach language models math and prove the gain with honest numbers.

Example: ``mathcoach data --op mul --digits 1-4 --per-cell 500 --split train --format long -o train.jsonl``
"""

__version__ = "0.1.0"
