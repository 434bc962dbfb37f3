"""attnflow: the mathematics of transformers as interacting particles on the sphere."""

from . import clusters, growth, init, layer, observables, pde, sphere, theory
from .errors import AttnflowError, EngineError, NonFiniteError, ParameterError
from .events import Event
from .integrate import simulate
from .interaction import velocity
from .io import load, save
from .model import Model
from .saveat import SaveAt

__all__ = ["AttnflowError", "EngineError", "Event", "Model", "NonFiniteError", "ParameterError", "clusters", "growth", "init", "layer", "load",
           "observables", "pde", "save", "SaveAt", "simulate", "sphere", "theory", "velocity"]
__version__ = "0.1.0"
