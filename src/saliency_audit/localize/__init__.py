"""cheXlocalize's evaluation protocol (Saporta et al., Nature Machine Intelligence 2022).

- :mod:`.protocol`: saliency maps -> binary segmentations (min-max normalised map above a
  threshold tuned on the validation split, or Otsu, or cross-fitted on test), probability
  gating (blank when the classifier's probability is below a cutoff tuned on validation),
  ensembles of replicates, per-image IoU / hit and pooled pixel precision, recall and
  specificity on an evaluation slice, bootstrap CIs and paired comparisons with a benchmark.
- :mod:`.features`: the pathology characteristics (regions, area fraction, elongation,
  irrectangularity) and the regressions of IoU and hit on them and on the probability.
- :mod:`.interop`: cheXlocalize's segmentation JSON (image id -> finding -> COCO RLE), written
  and read back.
"""
