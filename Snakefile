# Saliency-map trust audit (after Arun et al., Radiology: AI 2021).
# This file only includes the rule files; logic lives in src/saliency_audit.


# The default config runs the study on synthetic data; a --configfile replaces it
# (instead of being merged into it) so that its datasets are the only ones.
if not workflow.overwrite_configfiles:

    configfile: "config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/split.smk"
include: "workflow/rules/qc.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/saliency.smk"
include: "workflow/rules/metrics.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        all_targets(),
