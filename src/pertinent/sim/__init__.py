"""The synthetic shop: catalogue, people with hidden tastes, sessions, email responses."""

from pertinent.sim.catalogue import SimProduct, make_catalogue
from pertinent.sim.population import SimPerson, make_population
from pertinent.sim.responses import SimEmail, SimResponse, email_rng, respond
from pertinent.sim.sessions import Simulation

__all__ = [
    "SimEmail",
    "SimPerson",
    "SimProduct",
    "SimResponse",
    "Simulation",
    "email_rng",
    "make_catalogue",
    "make_population",
    "respond",
]
