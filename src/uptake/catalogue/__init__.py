"""The catalogue: innovations and indicators as YAML files, checked by Pydantic schemas."""

from uptake.catalogue.loader import Catalogue, load_catalogue
from uptake.catalogue.schemas import Indicator, Innovation

__all__ = ["Catalogue", "Indicator", "Innovation", "load_catalogue"]
