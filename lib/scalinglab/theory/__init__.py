"""Theories that predict a chapter's measurements from first principles, one module per model.

- ``perceptron`` — the teacher-student perceptron, its exact max-margin student and the replica-symmetric
  theory of its test error after data pruning (Sorscher et al. 2022).

Used by: chapter 03 (data pruning).
"""
