"""scalinglab: the library behind the book "Scaling Laws, Reproduced".

Generic machinery, shared by every chapter:

- ``models`` — the transformer, the MLP and the CNN; parameter counts;
- ``flops`` — FLOP counts of the book's transformer: Kaplan's and PaLM's closed forms, 6·N·D, and an exact
  count term by term (Hoffmann et al. 2022, App. F);
- ``train`` — the training loop (AdamW, schedules, clipping, evaluation, seeding, snapshots to branch from);
- ``schedules`` — learning-rate schedules (cosine, constant, warm-up–stable–decay, step) and Tissue et al.'s
  annealing law L = L₀ + A·S₁^(−α) − C·S₂ with its areas and fits;
- ``grids`` — log-spaced tuning grids and evaluation steps spaced in log(step);
- ``families`` — many small models trained as one stacked model;
- ``batch_law`` — steps to a target loss against batch size: the step–batch law S(B) = S_min(1 + B_crit/B)
  of McCandlish et al. 2018, its fits and the shape of its bend;
- ``capacity`` — knowledge capacity (Allen-Zhu & Li 2024): stored bits from a model's losses on random
  facts, net of a chance control, bits per parameter, int8/int4 weight quantisation;
- ``fit`` — power laws and lines with robust losses and bootstrap intervals;
- ``isoflop`` — IsoFLOP analysis (Hoffmann et al. 2022, Approach 2): per-budget parabolas and their minima,
  N_opt ∝ C^a with a seed-noise bootstrap, a fitted surface's misfit in seed-noise units, and the
  Kaplan–Chinchilla reconciliation (Pearce & Song 2024);
- ``intervals`` — 95 % intervals from a run's replicates (bootstrap, hierarchical, t);
- ``metrics`` — scoring a language model's answers (exact match, edit distance, multiple choice, the
  emergence score, PassUntil);
- ``noise_scale`` — gradient noise-scale estimators (per-example, two-batch, Hessian);
- ``prize`` — the Inverse Scaling Prize's classification evaluation (McKenzie et al. 2023): the
  log-probability of each class string after the prompt, for the book's transformers or Hugging Face models;
- ``pruning`` — data pruning: keep-easy, keep-hard and random selection by a difficulty score, EL2N and
  self-supervised prototype scores, many small classifiers trained at once on their own subsets;
- ``theory`` — first-principles theories of what a chapter measures: ``theory.perceptron``, the
  teacher–student perceptron, its exact max-margin student and the replica theory of data pruning
  (Sorscher et al. 2022);
- ``runs`` — the resumable run store, run specs and :func:`runs.sweep` (processes or Dask);
- ``seeds`` — named seed streams derived from a chapter's seed;
- ``devices`` — devices, threads and worker processes;
- ``claims`` — claims, criteria, preconditions and the three-way verdict;
- ``chapter`` — a chapter's bookkeeping: provenance, the verdict file, glued numbers;
- ``params`` — checking a chapter's parameters before anything is trained;
- ``plotting`` — the book's theme and model-size palette;
- ``data`` — seeded, offline data sets (bytes of Python, arithmetic, the memo trap, MNIST-1D).

Chapter-specific code — run functions and the functions that turn results into measured values —
lives in ``experiments``, one module per chapter, named after its slug.
"""

__version__ = "0.3.0"

import warnings as _warnings

# Without ipywidgets, tqdm.auto (imported by `datasets` and by our progress bars) warns once per
# kernel; in an executed chapter that warning would be printed into the page.
_warnings.filterwarnings("ignore", message="IProgress not found")
