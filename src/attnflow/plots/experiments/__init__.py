"""The figures of the experiments of `attnflow reproduce` (`attnflow.experiments`), one module per
experiment; each draws from the experiment's Datasets and returns the matplotlib Figure."""
