"""Classifiers, high-baseline localisers (U-Net, RetinaNet) and their evaluation.

Submodules (import them directly; importing this package does not import TensorFlow):

- :mod:`~saliency_audit.models.registry`: architectures (InceptionV3, DenseNet-121, tiny), their
  Grad-CAM layer and the blocks used for cascading randomization.
- :mod:`~saliency_audit.models.tf_setup`: threads, GPU memory growth, seeds, determinism.
- :mod:`~saliency_audit.models.classifier`: build / train / save / load / predict classifiers.
- :mod:`~saliency_audit.models.evaluate`: AUROC with a bootstrap CI, per-image prediction tables.
- :mod:`~saliency_audit.models.unet`: U-Net segmentation baseline.
- :mod:`~saliency_audit.models.retinanet`: keras-hub RetinaNet detection baseline and box maps.
"""
