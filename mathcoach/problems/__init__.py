"""Problems and grading: generators, phrasings, worked solutions, the step checker, answer extraction.

Everything here is pure Python so that the data path never imports torch.
"""
