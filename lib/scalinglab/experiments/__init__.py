"""One module per chapter, named after the chapter's slug: its run specs and run functions, and the
functions that turn results into measured values (with intervals) and figure data.

- ``power_laws`` — chapter 00, loss against model size;
- ``emergence`` — chapter 01, emergent abilities and the choice of metric;
- ``inverse_scaling`` — chapter 02, the memo trap and other inverse-scaling tasks;
- ``data_pruning`` — chapter 03, beating power-law scaling by pruning data;
- ``critical_batch`` — chapter 04, the gradient noise scale and the critical batch size.
- ``compute_optimal`` — chapter 05, compute-optimal allocation: Kaplan vs Chinchilla, and published data.
- ``knowledge_capacity`` — chapter 06, bits stored per parameter on random facts;
- ``lr_schedules`` — chapter 07, learning-rate schedules: a cooldown instead of cosine, and the annealing law.

Everything here is built on the generic machinery one level up (models, training, families,
fitting, the run store, claims and verdicts); nothing generic lives here.
"""
