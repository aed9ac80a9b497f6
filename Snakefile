# Saliency-map trust audit (after Arun et al., Radiology: AI 2021).
# This file only includes the rule files; logic lives in src/saliency_audit.


import os

from snakemake.utils import min_version

min_version("9.0")

# The default config runs the study on synthetic data; a --configfile replaces it
# (instead of being merged into it) so that its datasets are the only ones. Run from another
# working directory (-d), the repository's config.yaml is the default.
DEFAULT_CONFIG = (
    "config.yaml"
    if os.path.exists("config.yaml")
    else os.path.join(workflow.basedir, "config.yaml")
)


if not workflow.overwrite_configfiles:

    configfile: DEFAULT_CONFIG


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/split.smk"
include: "workflow/rules/qc.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/saliency.smk"
include: "workflow/rules/metrics.smk"
include: "workflow/rules/localize.smk"
include: "workflow/rules/trust.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/stability.smk"


rule all:
    default_target: True
    input:
        all_targets(),
