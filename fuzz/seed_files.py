"""Writing seed files into fuzz/corpus/<target>/, for the corpus generators."""
import os

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def emit(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)
