"""Marks shared by test modules."""

import pytest

# Fits that test an estimator's API on a few dozen texts for an epoch or two:
# too little to learn from, so the ConvergenceWarning every such fit rightly
# emits is ignored. Learning is tested in test_learning.py (where any
# ConvergenceWarning fails the test) and the warning itself in
# test_convergence.py.
API_FITS = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
