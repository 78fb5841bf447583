"""scalinglab: the library behind the book "Scaling Laws, Reproduced".

Modules: ``models`` (transformer, MLP, parameter and FLOP counts), ``train`` (the training loop),
``data`` (seeded corpora as Hugging Face datasets), ``fit`` (power laws with bootstrap intervals),
``runs`` (the resumable run store and sweeps), ``claims`` (claims and verdicts), ``chapter``
(provenance and verdict files), ``params`` (parameter checks), ``plotting`` (theme and palette).
"""

__version__ = "0.2.0"

import warnings as _warnings

# Without ipywidgets, tqdm.auto (imported by `datasets` and by our progress bars) warns once per
# kernel; in an executed chapter that warning would be printed into the page.
_warnings.filterwarnings("ignore", message="IProgress not found")
