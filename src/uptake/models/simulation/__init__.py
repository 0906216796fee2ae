"""The policy simulator (M17): organisation-level diffusion on the real NHS network, calibrated to each
organisation's fitted Bass curve (uptake.models.forecasts), with levers whose mechanisms and numbers are in
params/levers.yaml, as a vectorised Monte Carlo; a scenario (YAML or a form) run beside the base. The method is
in ``engine`` and docs/simulator.md.

- ``levers``: the lever parameters, read and checked;
- ``engine``: the network, the calibration, the Monte Carlo (pure NumPy, organisations x runs per step);
- ``scenario``: a scenario as data, checked and compiled against the network;
- ``model``: the inputs from a results connection, and a scenario's outputs (bands, time to target, chance
  of meeting each deadline, lives and pounds, cost per life saved).
"""

from uptake.models.simulation.engine import (
    Calibration,
    CompiledLever,
    Network,
    RunResult,
    check_memory,
    estimate_memory,
    simulate,
)
from uptake.models.simulation.levers import LEVERS, LeverParameters, load_levers, parse_levers
from uptake.models.simulation.model import (
    CALIBRATION_NOTE,
    SimulationInputs,
    SimulationResult,
    Target,
    build_inputs,
    run_scenario,
)
from uptake.models.simulation.scenario import Lever, Scenario, compile_levers, load_scenario, parse_scenario

__all__ = ["Calibration", "CompiledLever", "Network", "RunResult", "check_memory", "estimate_memory", "simulate",
           "LEVERS", "LeverParameters", "load_levers", "parse_levers", "CALIBRATION_NOTE", "SimulationInputs",
           "SimulationResult", "Target", "build_inputs", "run_scenario", "Lever", "Scenario", "compile_levers",
           "load_scenario", "parse_scenario"]
