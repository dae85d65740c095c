"""The configuration schema: settings declared once with their flags, validated as a whole."""

from eventstore.schema import refinements as _refinements  # noqa: F401 - registers the rules
from eventstore.schema.config import AppConfig
from eventstore.schema.structure import structure, structure_like, unstructure

__all__ = ["AppConfig", "structure", "structure_like", "unstructure"]
