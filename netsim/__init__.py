"""netsim: a discrete-event simulator of 6G mobile edge networks.

    >>> import netsim
    >>> loaded = netsim.load_scenario("scenarios/small.yaml")
    >>> result = netsim.run(loaded, out_dir="outputs/small", seed=1)
    >>> tables = netsim.load_run("outputs/small")   # tables.tasks, .devices, .links, .servers
"""

from netsim.engine import Simulation, run
from netsim.record.load import load_run
from netsim.scenario import ScenarioError, load_scenario

__all__ = ["ScenarioError", "Simulation", "load_run", "load_scenario", "run"]
