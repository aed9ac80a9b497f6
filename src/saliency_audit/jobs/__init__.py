"""Workflow jobs, one module per stage: file paths in, files out, all written atomically.

The thin scripts under ``workflow/scripts`` read the Snakemake object and call one function of
these modules; everything a job does is importable and tested without Snakemake.

* :mod:`.data` -- synthesize, convert, split, sample, QC figure;
* :mod:`.models` -- train / import / evaluate classifiers, train localisation baselines;
* :mod:`.saliency` -- saliency maps and their cascading randomization;
* :mod:`.metrics` -- per-image metrics of every method and of the baselines;
* :mod:`.report` -- statistics and Tables 2-4, figures, the summary.
"""
