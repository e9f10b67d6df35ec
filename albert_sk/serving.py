"""The former name of :mod:`albert_sk.export.savedmodel`, the TensorFlow
SavedModel of ``AlbertClassifier.export_serving``: ``from albert_sk.serving
import normalize, export_classifier`` keeps working. New code imports
:mod:`albert_sk.export.savedmodel`.

Examples
--------
>>> from albert_sk import serving
>>> from albert_sk.export import savedmodel
>>> serving.export_classifier is savedmodel.export_classifier
True
"""

from albert_sk.export.savedmodel import INFO_FILE as INFO_FILE
from albert_sk.export.savedmodel import MARKER as MARKER
from albert_sk.export.savedmodel import WHITESPACE as WHITESPACE
from albert_sk.export.savedmodel import export_classifier as export_classifier
from albert_sk.export.savedmodel import normalize as normalize
