"""attnflow: the mathematics of transformers as interacting particles on the sphere."""

from . import init, observables, sphere
from . import layer
from .errors import AttnflowError, EngineError, ParameterError
from . import theory
from . import pde
from .integrate import simulate
from .interaction import velocity
from .io import load, save
from .model import Model

__all__ = ["AttnflowError", "EngineError", "Model", "ParameterError", "init", "load", "observables", "save",
           "simulate", "sphere", "theory", "velocity"]
__version__ = "0.1.0"
