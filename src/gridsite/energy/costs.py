"""Cost assumptions for co-located supply (PV, onshore wind, battery) and their annualisation.

All money is in US dollars of 2023 (USD2023), capex is overnight installed cost, fixed O&M is per
year. The defaults are round figures of the published ranges named beside each field. They were
**not** checked line by line against the source tables while writing this module (the tables could
not be retrieved), so treat them as placeholder assumptions in the order of magnitude of those
sources and override them for a real study.
"""

from __future__ import annotations

from dataclasses import dataclass

from gridsite.errors import ConfigError

__all__ = ["SupplyCosts", "capital_recovery_factor"]


def capital_recovery_factor(rate: float, years: float) -> float:
    """Return the capital recovery factor: the share of capex paid back each year.

    ``rate * (1 + rate)**years / ((1 + rate)**years - 1)``, and ``1 / years`` at a zero rate.

    Parameters
    ----------
    rate
        Real discount rate per year, as a fraction (0.07 for 7 %).
    years
        Economic lifetime in years, > 0.

    Returns
    -------
    float
        Annual payment per unit of capex, in 1/year.

    Examples
    --------
    >>> round(capital_recovery_factor(0.0, 20.0), 6)
    0.05
    >>> round(capital_recovery_factor(0.07, 25.0), 6)
    0.085811
    """
    if years <= 0:
        raise ConfigError(f"lifetime must be > 0 years, got {years}")
    if rate <= -1:
        raise ConfigError(f"discount rate must be > -1, got {rate}")
    if rate == 0:
        return 1.0 / years
    growth = (1.0 + rate) ** years
    return float(rate * growth / (growth - 1.0))


@dataclass(frozen=True)
class SupplyCosts:
    """Capex, fixed O&M, lifetimes and discount rate of local PV, wind and battery supply.

    Units are in the field names (USD2023). Sources of the defaults, all placeholder assumptions
    rounded from the named publications (see the module docstring):

    - ``pv_capex_usd_per_kw`` 760: IRENA, *Renewable Power Generation Costs in 2023* (2024), global
      weighted-average total installed cost of utility-scale PV, about USD 758/kW in 2023.
    - ``wind_capex_usd_per_kw`` 1,160: same IRENA report, onshore wind, about USD 1,160/kW in 2023.
    - ``pv_fom_usd_per_kw_yr`` 22 and ``wind_fom_usd_per_kw_yr`` 43: NREL Annual Technology
      Baseline (ATB) 2024, moderate scenario, utility-scale PV and land-based wind fixed O&M,
      order of magnitude for 2023.
    - ``bess_capex_usd_per_kwh`` 250 and ``bess_capex_usd_per_kw`` 250: placeholder split of a
      4-hour utility-scale lithium-ion system of about USD 1,250/kW (USD 310/kWh) in the
      NREL ATB 2024 moderate case, into an energy part and a power part.
    - ``bess_fom_fraction_of_capex_yr`` 0.025: NREL ATB, utility-scale battery storage, fixed O&M
      taken as 2.5 % of capital cost per year (covers augmentation against degradation).
    - ``pv_lifetime_yr`` and ``wind_lifetime_yr`` 30: the ATB's 30-year cost recovery period.
    - ``bess_lifetime_yr`` 15: ATB battery economic life.
    - ``discount_rate`` 0.07: placeholder real weighted average cost of capital.
    - ``grid_import_usd_per_mwh`` 0: grid imports carry no cost in the objective unless given.
    """

    pv_capex_usd_per_kw: float = 760.0
    wind_capex_usd_per_kw: float = 1160.0
    bess_capex_usd_per_kwh: float = 250.0
    bess_capex_usd_per_kw: float = 250.0
    pv_fom_usd_per_kw_yr: float = 22.0
    wind_fom_usd_per_kw_yr: float = 43.0
    bess_fom_fraction_of_capex_yr: float = 0.025
    pv_lifetime_yr: float = 30.0
    wind_lifetime_yr: float = 30.0
    bess_lifetime_yr: float = 15.0
    discount_rate: float = 0.07
    grid_import_usd_per_mwh: float = 0.0

    def __post_init__(self) -> None:
        """Check that every cost is non-negative and every lifetime positive."""
        problems = [
            f"{name} must be >= 0, got {getattr(self, name)}"
            for name in (
                "pv_capex_usd_per_kw",
                "wind_capex_usd_per_kw",
                "bess_capex_usd_per_kwh",
                "bess_capex_usd_per_kw",
                "pv_fom_usd_per_kw_yr",
                "wind_fom_usd_per_kw_yr",
                "bess_fom_fraction_of_capex_yr",
                "grid_import_usd_per_mwh",
            )
            if not getattr(self, name) >= 0
        ]
        problems += [
            f"{name} must be > 0, got {getattr(self, name)}"
            for name in ("pv_lifetime_yr", "wind_lifetime_yr", "bess_lifetime_yr")
            if not getattr(self, name) > 0
        ]
        if not self.discount_rate > -1:
            problems.append(f"discount_rate must be > -1, got {self.discount_rate}")
        if problems:
            raise ConfigError("invalid supply costs: " + "; ".join(problems))

    def pv_usd_per_mw_yr(self) -> float:
        """Annualised capex plus fixed O&M of 1 MW of PV, in USD/MW/year."""
        crf = capital_recovery_factor(self.discount_rate, self.pv_lifetime_yr)
        return 1e3 * (self.pv_capex_usd_per_kw * crf + self.pv_fom_usd_per_kw_yr)

    def wind_usd_per_mw_yr(self) -> float:
        """Annualised capex plus fixed O&M of 1 MW of onshore wind, in USD/MW/year."""
        crf = capital_recovery_factor(self.discount_rate, self.wind_lifetime_yr)
        return 1e3 * (self.wind_capex_usd_per_kw * crf + self.wind_fom_usd_per_kw_yr)

    def bess_usd_per_mw_yr(self) -> float:
        """Annualised capex plus fixed O&M of 1 MW of battery power, in USD/MW/year."""
        crf = capital_recovery_factor(self.discount_rate, self.bess_lifetime_yr)
        return 1e3 * self.bess_capex_usd_per_kw * (crf + self.bess_fom_fraction_of_capex_yr)

    def bess_usd_per_mwh_yr(self) -> float:
        """Annualised capex plus fixed O&M of 1 MWh of battery energy, in USD/MWh/year."""
        crf = capital_recovery_factor(self.discount_rate, self.bess_lifetime_yr)
        return 1e3 * self.bess_capex_usd_per_kwh * (crf + self.bess_fom_fraction_of_capex_yr)
