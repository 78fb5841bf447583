"""Exercises numbered per page: Exercise 1, 2, 3 in every chapter, not 1 … 40 across the book.

sphinx-exercise numbers its exercises with Sphinx's figure numbering (``env.toc_fignumbers``), which
counts across the whole table of contents. Once Sphinx has assigned those numbers, this renumbers each
page's exercises 1, 2, 3 … in their order on the page, so that a course can say "Exercise 2 of chapter 4".
"""


def _per_page(app, env):
    for docname, kinds in env.toc_fignumbers.items():
        numbers = kinds.get("exercise")
        if not numbers:
            continue
        ordered = sorted(numbers.items(), key=lambda item: item[1])
        kinds["exercise"] = {node_id: (i,) for i, (node_id, _) in enumerate(ordered, start=1)}
    return []


def setup(app):
    # after the toctree collector has numbered every figure, table and exercise (it listens to the same event)
    app.connect("env-get-updated", _per_page, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
