"""The cost ledger (credits spent and saved, summed per submission, run, org, provider and day) and
budgets (the most an org or a submission may spend; steps wait as ``budget_exhausted`` beyond it)."""
