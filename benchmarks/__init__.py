"""assetstore's benchmarks, a package run from the repository's root: ``python -m benchmarks``.

Deliberately empty: MLflow's child process imports this package in MLflow's own virtualenv.
"""
