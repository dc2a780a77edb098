"""``dex bench``: the benchmark harness (workloads A engine-bound, B provider-bound, C scale).

It lives in the package, not only in the repository's ``bench/`` directory, so ``dex bench`` works
wherever dex is installed; ``bench/`` holds the README (what each figure means, measured figures) and the
git-ignored ``results/``."""
