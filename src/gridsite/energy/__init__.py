"""Pure energy computations: co-located renewable supply, hourly dispatch and storage sizing.

Arrays in, arrays and frozen dataclasses out; nothing here reads or writes files.
"""

from gridsite.energy.costs import SupplyCosts, capital_recovery_factor
from gridsite.energy.dispatch import DispatchResult, simulate
from gridsite.energy.fastsizing import FastSizingResult, size_supply_many
from gridsite.energy.potential import eligible_land, local_potential, offshore_potential
from gridsite.energy.profiles import campus_load, site_profiles
from gridsite.energy.sizing import SizingResult, size_supply
from gridsite.energy.summary import monthly_balance, typical_week

__all__ = [
    "DispatchResult",
    "FastSizingResult",
    "SizingResult",
    "SupplyCosts",
    "campus_load",
    "capital_recovery_factor",
    "eligible_land",
    "local_potential",
    "monthly_balance",
    "offshore_potential",
    "simulate",
    "site_profiles",
    "size_supply",
    "size_supply_many",
    "typical_week",
]
