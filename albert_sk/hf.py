"""The former name of :mod:`albert_sk.export.hf`, the Hugging Face export:
``from albert_sk.hf import export_hf`` (and the module's other public names)
keeps working. New code imports :mod:`albert_sk.export.hf`, or
``albert_sk.export_hf``.

Examples
--------
>>> from albert_sk import hf
>>> from albert_sk.export import hf as export_hf_module
>>> hf.export_hf is export_hf_module.export_hf
True
"""

from albert_sk.export.hf import KERAS_HUB_INTERNALS as KERAS_HUB_INTERNALS
from albert_sk.export.hf import WORDPIECE_SPECIAL as WORDPIECE_SPECIAL
from albert_sk.export.hf import backbone_weights as backbone_weights
from albert_sk.export.hf import check_keras_hub_internals as check_keras_hub_internals
from albert_sk.export.hf import export_hf as export_hf
from albert_sk.export.hf import hf_config as hf_config
from albert_sk.export.hf import tokenizer_config as tokenizer_config
