"""`frontdesk agent-sim`: simulated agents over the public native API (spec/native.md §10.2)."""

from frontdesk.agentsim.options import OptionsError, SimOptions, build_options
from frontdesk.agentsim.runner import run_agent_sim

__all__ = ["OptionsError", "SimOptions", "build_options", "run_agent_sim"]
