"""The market: mechanisms bound to the network through one view, re-solved every epoch."""

from netsim.market.bindings import BINDINGS, MECHANISMS, MechanismBinding
from netsim.market.loop import Market, build_solver
from netsim.market.view import MarketView

__all__ = ["BINDINGS", "MECHANISMS", "Market", "MarketView", "MechanismBinding", "build_solver"]
