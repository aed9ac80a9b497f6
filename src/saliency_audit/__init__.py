"""saliency_audit: the importable logic behind the saliency-map trust workflow.

Stages (see the repository README): synthesize -> convert -> split/sample -> train ->
saliency -> randomize -> metrics -> stats -> figures/report.  Workflow scripts under
``workflow/scripts`` are thin adapters over the functions in this package.
"""

__version__ = "0.1.0"
